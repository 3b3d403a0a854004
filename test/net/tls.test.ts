import { test } from "node:test";
import assert from "node:assert/strict";
import { BrokenResourceError, CancelScope, ClosedResourceError, run, withTaskGroup } from "../../src/index.js";
import { checkHalfCloseableStream, checkTwoWayStream } from "../../src/testing/index.js";
import { connectTcp, connectTls, listenTcp, listenTls, type SocketStream } from "../../src/net/index.js";
import { thrown } from "../support/thrown.js";
import { testCerts } from "./certs.js";
import { assertNothingLeft, clog } from "./support.js";

const certs = testCerts();

async function tlsPair(): Promise<[SocketStream, SocketStream]> {
  await using listener = await listenTls(0, { key: certs.key, cert: certs.cert });
  let accepted: SocketStream | undefined;
  let connected: SocketStream | undefined;
  await withTaskGroup(async (tg) => {
    tg.spawn(async () => void (accepted = await listener.accept()));
    connected = await connectTls("localhost", listener.address.port!, { ca: certs.ca });
  });
  return [connected!, accepted!];
}

test("TLS streams pass checkHalfCloseableStream", async () => {
  await run(() =>
    checkHalfCloseableStream(tlsPair, async () => {
      const pair = await tlsPair();
      for (const s of pair) clog(s.socket);
      return pair;
    }),
  );
  await assertNothingLeft();
});

test("an untrusted certificate and a hostname mismatch are BrokenResourceError with Node's error as cause", async () => {
  await run(async () => {
    await using listener = await listenTls(0, { key: certs.key, cert: certs.cert });
    const port = listener.address.port!;
    const untrusted = await thrown(() => connectTls("localhost", port));
    assert.ok(untrusted instanceof BrokenResourceError, String(untrusted));
    assert.match(String((untrusted.cause as { code?: string }).code), /CERT|SIGNED|VERIFY|ISSUER/);
    const mismatch = await thrown(() => connectTls("127.0.0.1", port, { ca: certs.ca, servername: "other.example" }));
    assert.ok(mismatch instanceof BrokenResourceError, String(mismatch));
    assert.equal((mismatch.cause as { code?: string }).code, "ERR_TLS_CERT_ALTNAME_INVALID");
    // The listener goes on: a good client still gets through.
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await using conn = await listener.accept();
        await conn.send("ok");
      });
      await using conn = await connectTls("127.0.0.1", port, { ca: certs.ca });
      assert.equal(String(await conn.receive()), "ok");
    });
  });
  await assertNothingLeft();
});

test("startTls upgrades a plain connection (both sides); the plain stream is then closed for use", async () => {
  await run(async () => {
    await using listener = await listenTcp(0);
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        const plain = await listener.accept();
        assert.equal(String(await plain.receive()), "STARTTLS");
        await plain.send("GO");
        await using secure = await plain.startTls({ isServer: true, key: certs.key, cert: certs.cert });
        assert.equal(String(await secure.receive()), "secret");
        await secure.send("reply");
      });
      const plain = await connectTcp("127.0.0.1", listener.address.port!);
      await plain.send("STARTTLS");
      assert.equal(String(await plain.receive()), "GO");
      await using secure = await plain.startTls({ ca: certs.ca, servername: "localhost" });
      await assert.rejects(plain.send("x"), ClosedResourceError);
      await secure.send("secret");
      assert.equal(String(await secure.receive()), "reply");
      await plain.close(); // a no-op now
    });
  });
  await assertNothingLeft();
});

test("a cancelled TLS connect leaves nothing behind", async () => {
  await run(async () => {
    await using listener = await listenTls(0, { key: certs.key, cert: certs.cert });
    const scope = new CancelScope();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => scope.run(() => connectTls("localhost", listener.address.port!, { ca: certs.ca })));
      // Cancel during the handshake: let the TCP connect finish first.
      await new Promise((resolve) => setTimeout(resolve, 1));
      scope.cancel();
    });
    void checkTwoWayStream;
  });
  await assertNothingLeft();
});
