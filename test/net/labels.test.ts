// Socket labels are made when first asked, not per connection: an accepted socket's peer address
// costs a getpeername system call, and a connected socket's label a string. These tests check
// the precondition of that shortcut (nothing asks while nobody needs a label) and that every
// place that does need one — remoteAddress, the resource registry, wait labels, error
// messages — still gets the right text, before and after the socket is closed.
import { test } from "node:test";
import assert from "node:assert/strict";
import type net from "node:net";
import { CancelScope, ClosedResourceError, run, withTaskGroup } from "../../src/index.js";
import { currentScope } from "../../src/core/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";
import { connectTcp, listenTcp } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { assertNothingLeft, socketStreamPair as tcpPair } from "./support.js";


/** Whether Node has asked the system for the socket's peer address (it keeps the answer). */
function peerAsked(socket: net.Socket): boolean {
  return (socket as unknown as { _peername?: unknown })._peername !== undefined;
}

/** The labels of the resources open in the current run. */
function resourceLabels(): string[] {
  return [...currentScope()!.runtime.resources].map((r) => r.describe());
}

test("an accepted socket's peer address is asked of the system only when a label is needed", async () => {
  await run(async () => {
    const [client, server] = await tcpPair();
    // Sending, receiving and closing need no label: nothing asks.
    await client.send("ping");
    assert.equal(String(await server.receive()), "ping");
    await server.send("pong");
    assert.equal(String(await client.receive()), "pong");
    assert.equal(peerAsked(server.socket), false, "the peer address was asked for without need");
    // The registry's label is made when read: the peer's address.
    assert.ok(resourceLabels().includes(`socket ${client.localAddress}`), JSON.stringify(resourceLabels()));
    assert.equal(peerAsked(server.socket), true);
    assert.equal(server.remoteAddress, client.localAddress);
    await client.close();
    await server.close();
  });
  await assertNothingLeft();
});

test("a parked receive is labelled with the peer's address (accepted) or the address connected to", async () => {
  const labels: string[] = [];
  let expected: string[] = [];
  await run(
    async () => {
      const [client, server, listenerAddress] = await tcpPair();
      await withTaskGroup(async (tg) => {
        tg.spawn(() => server.receive());
        tg.spawn(() => client.receive());
        await waitAllTasksBlocked();
        await client.send("x");
        await server.send("y");
      });
      expected = [`socket receive ${client.localAddress}`, `socket receive ${listenerAddress}`];
      await client.close();
      await server.close();
    },
    { instruments: [{ taskBlocked: (_task, label) => void labels.push(label) }] },
  );
  for (const label of expected) assert.ok(labels.includes(label), `${label} not in ${labels.join(", ")}`);
  await assertNothingLeft();
});

test("after close, a label never asked for says where the socket was accepted; remoteAddress read before stays", async () => {
  await run(async () => {
    const [client, server, listenerAddress] = await tcpPair();
    await server.close();
    // The handle is gone: the peer can no longer be asked. The error still names the socket.
    const err = await thrown(() => server.receive());
    assert.ok(err instanceof ClosedResourceError);
    assert.match(err.message, new RegExp(`socket accepted on ${listenerAddress.replace(/[.[\]]/g, "\\$&")}`));
    assert.equal(server.remoteAddress, "", "remoteAddress is empty once it can no longer be known");
    // Read while open, it is kept.
    const [client2, server2] = await tcpPair();
    const peer = server2.remoteAddress;
    assert.equal(peer, client2.localAddress);
    await server2.close();
    assert.equal(server2.remoteAddress, peer);
    // The connecting side's label is the address it connected to, asked of nobody.
    assert.equal(client.remoteAddress, listenerAddress);
    assert.equal(peerAsked(client.socket), false);
    await client.close();
    assert.equal(client.remoteAddress, listenerAddress);
    await client2.close();
  });
  await assertNothingLeft();
});

test("connectTcp: a localAddress that is not an IP address is a TypeError, and nothing is left open", async () => {
  await run(async () => {
    await using listener = await listenTcp(0);
    const err = await thrown(() => connectTcp("127.0.0.1", listener.address.port!, { localAddress: "not-an-ip" }));
    assert.ok(err instanceof TypeError);
    assert.match(err.message, /localAddress/);
  });
  await assertNothingLeft();
});

test("a second close() after the first has finished is a schedule point: no Cancelled in a cancelled scope, other tasks run", async () => {
  await run(async () => {
    const [client, server] = await tcpPair();
    await client.close();
    await server.close();
    const order: string[] = [];
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => void order.push("other task"));
      const scope = new CancelScope();
      scope.cancel();
      await scope.run(async () => {
        await client.close();
        order.push("second close");
      });
    });
    assert.deepEqual(order, ["other task", "second close"]);
    assert.equal(client.socket.closed, true);
  });
  await assertNothingLeft();
});
