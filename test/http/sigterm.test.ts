// run()'s SIGTERM shuts a server down gracefully with no code of its own: a real process gets a
// real SIGTERM while a request is in flight; the client gets its whole response; exit 143.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { get } from "./support.js";

test("SIGTERM during a request: the client gets its full response, then the process ends with status 143", async () => {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [join(process.cwd(), "test", "fixtures", "http", "sigterm-server.mjs")], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  let out = "";
  let err = "";
  const waiters: [string, () => void][] = [];
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (const [text, resolve] of waiters) if (out.includes(text)) resolve();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  const printed = (text: string) =>
    new Promise<void>((resolve, reject) => {
      if (out.includes(text)) return resolve();
      waiters.push([text, resolve]);
      void exited.then(() => reject(new Error(`fixture exited before printing "${text}":\n${out}\n${err}`)));
    });
  try {
    await printed("listening ");
    const url = /listening (\S+)/.exec(out)![1]!;
    const reply = get(url, "/work");
    await printed("handling /work");
    child.kill("SIGTERM");
    const r = await reply;
    assert.deepEqual([r.status, r.body], [200, "first half, second half"]);
    const status = await exited;
    assert.ok(status.code === 143 || status.signal === "SIGTERM", `exit ${status.code} ${status.signal}\n${err}`);
    assert.match(out, /handling \/work\nanswered \/work\n/);
    assert.doesNotMatch(out, /not reached/);
  } finally {
    clearTimeout(guard);
    child.kill("SIGKILL");
  }
});
