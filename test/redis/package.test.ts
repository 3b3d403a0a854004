// The published shape of the acknowledged channels: "trellis" exports openAckChannel,
// "trellis/redis" exports openRedisChannel, and nothing of trellis imports the `redis`
// package (an optional peer dependency: the client is passed in).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

function exportsOf(specifier: string): string[] {
  const code = `import(${JSON.stringify(specifier)}).then((m) => console.log(JSON.stringify(Object.keys(m))))`;
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: process.cwd(), encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as string[];
}

test("trellis exports openAckChannel and AckReceiveChannel; trellis/redis exports openRedisChannel and its handles", () => {
  const core = exportsOf("trellis");
  for (const name of ["openAckChannel", "AckReceiveChannel"]) assert.ok(core.includes(name), name);
  const redis = exportsOf("trellis/redis");
  for (const name of ["openRedisChannel", "RedisSendChannel", "RedisReceiveChannel"]) assert.ok(redis.includes(name), name);
});

test("no compiled module of trellis imports the redis package", () => {
  const dist = join(process.cwd(), "dist");
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []));
  for (const file of walk(dist)) {
    const text = readFileSync(file, "utf8");
    // Statements only: the TSDoc examples kept in the output do import it, as users will.
    assert.doesNotMatch(text, /^\s*(import|export)\b[^\n]*from\s+["'](redis|@redis\/[^"']+)["']|^[^*\n]*\bimport\(["'](redis|@redis\/)/m, `${file} imports redis`);
  }
});
