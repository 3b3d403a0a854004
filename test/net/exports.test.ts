// trellis/net and the stream kit of trellis/testing, resolved by package name through the
// exports map, as a user imports them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

function importFromPackage(specifier: string): string[] {
  const code = `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

test("trellis/net exports every name of API.md §3", () => {
  const names = importFromPackage("trellis/net");
  for (const name of [
    "connectTcp", "connectUnix", "connectTls", "listenTcp", "listenUnix", "listenTls", "Listener", "serve", "serveTcp",
    "fromNodeStream", "fromNodeStreams", "BufferedStream", "StapledStream", "SocketStream",
  ]) {
    assert.ok(names.includes(name), `"trellis/net" does not export ${name}`);
  }
});

test("trellis/testing exports the memory streams and the conformance checks", () => {
  const names = importFromPackage("trellis/testing");
  for (const name of ["memoryStreamPair", "lockstepStreamPair", "checkOneWayStream", "checkTwoWayStream", "checkHalfCloseableStream"]) {
    assert.ok(names.includes(name), `"trellis/testing" does not export ${name}`);
  }
});
