// Trio's stream conformance checks on every Node-backed stream of trellis/net.
import { test } from "node:test";
import { run } from "../../src/index.js";
import { checkHalfCloseableStream } from "../../src/testing/index.js";
import { fromNodeStream, type HalfCloseableStream } from "../../src/net/index.js";
import { assertNothingLeft, clog, nodeSocketPair } from "./support.js";


async function fromSocketPair(): Promise<[HalfCloseableStream, HalfCloseableStream]> {
  const [a, b] = await nodeSocketPair();
  return [fromNodeStream(a, { label: "a" }), fromNodeStream(b, { label: "b" })];
}

test("fromNodeStream over a TCP socket pair passes checkHalfCloseableStream", async () => {
  await run(() =>
    checkHalfCloseableStream(fromSocketPair, async () => {
      const [a, b] = await nodeSocketPair();
      const pair: [HalfCloseableStream, HalfCloseableStream] = [fromNodeStream(a), fromNodeStream(b)];
      clog(a);
      clog(b);
      return pair;
    }),
  );
  await assertNothingLeft();
});
