// The Happy Eyeballs race of connectTcp, driven directly (the test machine's resolver may give
// one address for "localhost"): losers are closed, failures start the next attempt at once,
// cancellation destroys every attempt.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { CancelScope, run } from "../../src/index.js";
import { interleave, race } from "../../src/net/connect-tcp.js";
import { wait } from "../../src/core/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft } from "./support.js";

async function rawServer(): Promise<{ server: net.Server; port: number; accepted: net.Socket[]; ended: Promise<void> }> {
  const accepted: net.Socket[] = [];
  let endedOne!: () => void;
  const ended = new Promise<void>((resolve) => (endedOne = resolve));
  const server = net.createServer((s) => {
    accepted.push(s);
    s.on("error", () => {});
    s.on("close", () => endedOne());
    s.resume();
  });
  await wait(new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve)));
  return { server, port: (server.address() as net.AddressInfo).port, accepted, ended };
}

test("interleave alternates families, starting with the first one returned (RFC 8305 §4)", () => {
  const got = interleave([
    { address: "::1", family: 6 },
    { address: "::2", family: 6 },
    { address: "10.0.0.1", family: 4 },
    { address: "::3", family: 6 },
  ]).map((t) => t.address);
  assert.deepEqual(got, ["::1", "10.0.0.1", "::2", "::3"]);
});

test("with several attempts in flight, the first to connect wins and the others are closed", async () => {
  await run(async () => {
    const { server, port, accepted, ended } = await rawServer();
    const target = { address: "127.0.0.1", family: 4 };
    // Delay 0: all three attempts start at once and all three reach the server.
    const socket = await race([target, target, target], port, 0, undefined, `127.0.0.1:${port}`);
    assert.equal(socket.remotePort, port);
    await wait(ended); // a loser that had connected was closed: the server saw it go
    socket.destroy();
    for (const s of accepted) s.destroy();
    server.close();
  });
  await assertNothingLeft();
});

test("a refused attempt starts the next one at once; all refused is an AggregateError with each error", async () => {
  await run(async () => {
    const { server, port, accepted } = await rawServer();
    const free = net.createServer();
    await wait(new Promise<void>((resolve) => free.listen(0, "127.0.0.1", resolve)));
    const closedPort = (free.address() as net.AddressInfo).port;
    free.close();
    // 127.0.0.2 is loopback too, but the server listens on 127.0.0.1 only: it refuses. With a
    // delay of an hour, only that refusal can have started the attempt that succeeds.
    const socket = await race(
      [
        { address: "127.0.0.2", family: 4 },
        { address: "127.0.0.1", family: 4 },
      ],
      port,
      3_600_000,
      undefined,
      "test",
    );
    assert.equal(socket.remoteAddress, "127.0.0.1");
    socket.destroy();
    const err = await thrown(() =>
      race(
        [
          { address: "127.0.0.1", family: 4 },
          { address: "127.0.0.1", family: 4 },
        ],
        closedPort,
        3_600_000,
        undefined,
        "test",
      ),
    );
    assert.ok(err instanceof AggregateError, String(err));
    assert.equal(err.errors.length, 2);
    assert.equal((err as unknown as { code?: string }).code, "ECONNREFUSED");
    for (const s of accepted) s.destroy();
    server.close();
  });
  await assertNothingLeft();
});

test("cancelling the race destroys every attempt", async () => {
  await run(async () => {
    const { server, port, accepted } = await rawServer();
    const target = { address: "127.0.0.1", family: 4 };
    const scope = new CancelScope();
    await scope.run(async () => {
      const racing = race([target, target, target], port, 0, undefined, "test");
      scope.cancel();
      await racing;
    });
    assert.equal(scope.cancelledCaught, true);
    for (const s of accepted) s.destroy();
    server.close();
  });
  await assertNothingLeft();
});
