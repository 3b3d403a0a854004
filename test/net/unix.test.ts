import { test } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CancelScope, run, withTaskGroup } from "../../src/index.js";
import { checkHalfCloseableStream } from "../../src/testing/index.js";
import { connectUnix, listenUnix, type SocketStream } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft, clog } from "./support.js";

const dir = mkdtempSync(join(tmpdir(), "trellis-unix-"));
let n = 0;
const freshPath = () => join(dir, `s${++n}.sock`);
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

async function unixPair(): Promise<[SocketStream, SocketStream]> {
  const path = freshPath();
  await using listener = await listenUnix(path);
  let accepted: SocketStream | undefined;
  let connected: SocketStream | undefined;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => void (accepted = await listener.accept()));
    connected = await connectUnix(path);
  });
  return [connected!, accepted!];
}

test("Unix streams pass checkHalfCloseableStream", async () => {
  await run(() =>
    checkHalfCloseableStream(unixPair, async () => {
      const pair = await unixPair();
      for (const s of pair) clog(s.socket);
      return pair;
    }),
  );
  await assertNothingLeft();
});

test("listenUnix: address is the path, close removes the file, labels name the path", async () => {
  await run(async () => {
    const path = freshPath();
    const listener = await listenUnix(path);
    assert.equal(String(listener.address), path);
    assert.equal(listener.address.path, path);
    assert.ok(existsSync(path));
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await using conn = await listener.accept();
        await conn.send("over unix");
      });
      await using conn = await connectUnix(path);
      assert.equal(conn.remoteAddress, path);
      assert.equal(String(await conn.receive()), "over unix");
    });
    await listener.close();
    assert.ok(!existsSync(path));
  });
  await assertNothingLeft();
});

test("a path too long is RangeError; a stale socket file is replaced; a live one or a plain file is EADDRINUSE", async () => {
  await run(async () => {
    const long = join(dir, "x".repeat(120));
    assert.ok((await thrown(() => listenUnix(long))) instanceof RangeError);
    assert.ok((await thrown(() => connectUnix(long))) instanceof RangeError);
    assert.ok((await thrown(() => listenUnix(""))) instanceof TypeError);
    assert.ok((await thrown(() => connectUnix(7 as never))) instanceof TypeError);

    // A stale socket file: bound by a server that was closed without removing it.
    const stale = freshPath();
    const old = net.createServer();
    await new Promise<void>((resolve) => old.listen(stale, resolve));
    // Closing a Node server removes the file; simulate a crash by copying the state instead.
    old.close();
    await new Promise((resolve) => setImmediate(resolve));
    const raw = net.createServer();
    await new Promise<void>((resolve) => raw.listen(stale, resolve));
    // Live server there: refused.
    assert.equal(((await thrown(() => listenUnix(stale))) as { code?: string }).code, "EADDRINUSE");
    raw.close();

    const plain = freshPath();
    writeFileSync(plain, "not a socket");
    assert.equal(((await thrown(() => listenUnix(plain))) as { code?: string }).code, "EADDRINUSE");

    // A directory we cannot write: not removable / not creatable.
    if (process.getuid?.() !== 0) {
      const locked = mkdtempSync(join(dir, "ro"));
      chmodSync(locked, 0o500);
      const err = (await thrown(() => listenUnix(join(locked, "s.sock")))) as { code?: string };
      assert.equal(err.code, "EACCES");
      chmodSync(locked, 0o700);
    }
    const missing = (await thrown(() => connectUnix(join(dir, "nobody.sock")))) as { code?: string };
    assert.equal(missing.code, "ENOENT");
  });
  await assertNothingLeft();
});

test("a stale socket file left by a dead process is removed and reused", async () => {
  await run(async () => {
    const path = freshPath();
    // A child process that binds and is killed leaves the socket file behind.
    const { spawnSync } = await import("node:child_process");
    spawnSync(process.execPath, ["-e", `require("net").createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, "SIGKILL"))`]);
    assert.ok(existsSync(path));
    await using listener = await listenUnix(path);
    assert.equal(listener.address.path, path);
  });
  await assertNothingLeft();
});

test("a cancelled connectUnix leaves nothing behind", async () => {
  await run(async () => {
    const path = freshPath();
    await using listener = await listenUnix(path);
    const scope = new CancelScope();
    await scope.run(async () => {
      const connecting = connectUnix(path);
      scope.cancel();
      await connecting;
    });
    assert.equal(scope.cancelledCaught, true);
    void listener;
  });
  await assertNothingLeft();
});
