/**
 * Conformance checks for byte streams: Trio's `trio.testing.check_one_way_stream`,
 * `check_two_way_stream` and `check_half_closeable_stream`, rewritten for trellis. Every stream
 * of trellis passes them (memory, lockstep, TCP, Unix, TLS, `fromNodeStream`); run them on
 * your own implementations too. Trio's checks of `wait_send_all_might_not_block` have no
 * counterpart (trellis streams have no such method); a `close()` is checked to succeed inside
 * a cancelled scope instead of being a checkpoint (trellis's rule, so that `await using`
 * never turns a `Cancelled` into a `SuppressedError`).
 *
 * @module
 */
import { AssertionError } from "node:assert";
import {
  BrokenResourceError,
  BusyResourceError,
  CancelScope,
  ClosedResourceError,
  isCancelled,
  requireFunction,
  withTaskGroup,
} from "../core/index.js";
import type { HalfCloseableStream, ReceiveStream, SendStream, Stream } from "../net/index.js";
import { assertCheckpoints } from "./assert-checkpoints.js";
import { waitAllTasksBlocked } from "./wait-all-tasks-blocked.js";

/** An async function returning a fresh connected pair `[a, b]`. */
export type StreamMaker<A, B> = () => Promise<readonly [A, B]>;

interface Closeable {
  close(): Promise<void>;
}

function fail(message: string): never {
  throw new AssertionError({ message: `stream check: ${message}` });
}

function check(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

const decoder = new TextDecoder();
const text = (bytes: Uint8Array) => decoder.decode(bytes);

async function expectError(promise: Promise<unknown>, kind: abstract new (...args: never[]) => Error, what: string): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof kind) return err;
    fail(`${what}: expected ${kind.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  }
  return fail(`${what}: expected ${kind.name}, but it succeeded`);
}

/** Trio's `aclose_forcefully`: close inside a cancelled scope. */
async function closeForcefully(resource: Closeable): Promise<void> {
  const scope = new CancelScope();
  scope.cancel();
  await scope.run(() => resource.close());
}

/** Runs `body(a, b)` on a fresh pair and force-closes both afterwards, whatever happens. */
async function withPair<A extends Closeable, B extends Closeable>(maker: StreamMaker<A, B>, body: (a: A, b: B) => Promise<void>): Promise<void> {
  const pair = await maker();
  check(Array.isArray(pair) && pair.length === 2, "the maker must resolve to a pair [a, b]");
  const [a, b] = pair;
  try {
    await body(a, b);
  } finally {
    try {
      await closeForcefully(a);
    } finally {
      await closeForcefully(b);
    }
  }
}

/** Checks that `close()` inside a cancelled scope closes without raising. */
async function closeInCancelledScope(resource: Closeable, what: string): Promise<void> {
  const scope = new CancelScope();
  scope.cancel();
  try {
    await scope.run(() => resource.close());
  } catch (err) {
    fail(`${what}.close() inside a cancelled scope must succeed, but it threw ${String(err)}`);
  }
  check(!scope.cancelledCaught, `${what}.close() raised Cancelled inside a cancelled scope; a close must succeed there`);
}

async function receiveOne(r: ReceiveStream, expected: string): Promise<void> {
  const got = await r.receive(1);
  check(text(got) === expected, `receive(1) returned ${JSON.stringify(text(got))}, expected ${JSON.stringify(expected)}`);
}

async function sendAndReceive(s: SendStream, r: ReceiveStream, data: Uint8Array | string, expected: string): Promise<void> {
  await withTaskGroup(async (tg) => {
    tg.spawn(() => s.send(data));
    tg.spawn(() => receiveOne(r, expected));
  });
}

/**
 * Checks a one-way stream implementation, as Trio's `check_one_way_stream`: sending and
 * receiving, argument checks, `BusyResourceError` for concurrent receives (and sends, with a
 * clogged pair), `BrokenResourceError` once the receiver is closed, `ClosedResourceError` after
 * close, EOF after a graceful close, closes in cancelled scopes, cancelled operations, and a
 * blocked `receive` (or clogged `send`) woken by `close`.
 *
 * @param makePair - Resolves to a fresh connected `[sendStream, receiveStream]`.
 * @param makeCloggedPair - Optional: like `makePair`, but `send` blocks until the peer receives.
 * @throws {AssertionError} If the streams break a rule.
 * @example
 * ```ts
 * import { checkOneWayStream, memoryStreamOneWayPair } from "trellis/testing";
 * await checkOneWayStream(async () => memoryStreamOneWayPair(), async () => memoryStreamOneWayPair({ capacity: 0 }));
 * ```
 */
export async function checkOneWayStream(
  makePair: StreamMaker<SendStream, ReceiveStream>,
  makeCloggedPair?: StreamMaker<SendStream, ReceiveStream> | null,
): Promise<void> {
  requireFunction("checkOneWayStream()", "makePair", makePair);
  if (makeCloggedPair !== undefined && makeCloggedPair !== null) requireFunction("checkOneWayStream()", "makeCloggedPair", makeCloggedPair);

  await withPair(makePair, async (s, r) => {
    for (const name of ["send", "close"] as const) check(typeof s[name] === "function", `the send stream has no ${name}() method`);
    for (const name of ["receive", "close"] as const) check(typeof r[name] === "function", `the receive stream has no ${name}() method`);
    // Both are checkpoints: in a cancelled scope they raise Cancelled before doing anything.
    // Concurrently: on a stream without a buffer (lockstep) a send returns only once a receive
    // has taken its bytes, and assertCheckpoints runs the operation for real.
    await withTaskGroup(async (tg) => {
      tg.spawn(() => assertCheckpoints(() => s.send("x")));
      await assertCheckpoints(() => r.receive(1));
    });

    await sendAndReceive(s, r, "x", "x");
    // An empty send has no special meaning.
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await s.send("");
        await s.send(new Uint8Array(0));
        await s.send("y");
      });
      tg.spawn(() => receiveOne(r, "y"));
    });
    // Any view of bytes, and strings.
    await sendAndReceive(s, r, new Uint8Array([0x31]), "1");
    await sendAndReceive(s, r, Buffer.from("2"), "2");
    await sendAndReceive(s, r, new Uint8Array([0x30, 0x33, 0x30]).subarray(1, 2), "3");

    // maxBytes must be a positive integer; absent or null is the default.
    for (const bad of [-1, 0, 1.5, "1"]) {
      let threw: unknown;
      try {
        await r.receive(bad as number);
      } catch (err) {
        threw = err;
      }
      check(threw instanceof TypeError || threw instanceof RangeError, `receive(${JSON.stringify(bad)}) must throw TypeError or RangeError, got ${String(threw)}`);
    }
    for (const max of [undefined, null]) {
      await withTaskGroup(async (tg) => {
        tg.spawn(() => s.send("x"));
        const got = await r.receive(max as undefined);
        check(text(got) === "x", `receive(${String(max)}) returned ${JSON.stringify(text(got))}`);
      });
    }

    await expectError(
      withTaskGroup(async (tg) => {
        tg.spawn(() => r.receive(1));
        tg.spawn(() => r.receive(1));
      }),
      BusyResourceError,
      "two concurrent receive() calls",
    );

    // Closing the receiver makes sends fail (eventually) with BrokenResourceError.
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await expectError(
          (async () => {
            for (;;) await s.send("x".repeat(100));
          })(),
          BrokenResourceError,
          "send() after the receiver closed",
        );
      });
      tg.spawn(() => r.close());
    });
    // Once detected, the stream stays broken.
    await expectError(s.send("x".repeat(100)), BrokenResourceError, "send() on a broken stream");
    await expectError(r.receive(4096), ClosedResourceError, "receive() after close()");
    await r.close();
    await r.close();
    await s.close();
    await expectError(s.send("x".repeat(100)), ClosedResourceError, "send() after close()");
    await expectError(s.send(""), ClosedResourceError, "an empty send() after close()");
    await s.close();
    await s.close();
  });

  // Send then a graceful close: the receiver gets the data, then EOF.
  await withPair(makePair, async (s, r) => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await s.send("y");
        await s.close();
      });
      tg.spawn(async () => {
        await waitAllTasksBlocked();
        await receiveOne(r, "y");
        await receiveOne(r, "");
        await receiveOne(r, ""); // EOF again
        await r.close();
      });
    });
  });

  await withPair(makePair, async (s, r) => {
    await closeForcefully(r);
    await expectError(
      (async () => {
        for (;;) await s.send("x".repeat(100));
      })(),
      BrokenResourceError,
      "send() after the receiver was closed forcefully",
    );
    await expectError(r.receive(4096), ClosedResourceError, "receive() after a forceful close");
  });

  await withPair(makePair, async (s, r) => {
    await closeForcefully(s);
    await expectError(s.send("123"), ClosedResourceError, "send() after a forceful close");
    // The receiver sees EOF or BrokenResourceError; never a hang, never data.
    try {
      await receiveOne(r, "");
    } catch (err) {
      if (!(err instanceof BrokenResourceError)) throw err;
    }
  });

  // A close inside a cancelled scope still closes, and succeeds.
  await withPair(makePair, async (s, r) => {
    await closeInCancelledScope(r, "the receive stream");
    await closeInCancelledScope(s, "the send stream");
    await expectError(s.send("123"), ClosedResourceError, "send() after a close in a cancelled scope");
    await expectError(r.receive(4096), ClosedResourceError, "receive() after a close in a cancelled scope");
  });

  // Cancelled operations raise Cancelled, and the stream can still be closed gracefully.
  await withPair(makePair, async (s, r) => {
    const scope = new CancelScope();
    scope.cancel();
    await scope.run(() =>
      withTaskGroup(async (tg) => {
        const expectCancelled = async (op: () => Promise<unknown>, what: string) => {
          try {
            await op();
          } catch (err) {
            if (isCancelled(err)) return;
            throw err;
          }
          fail(`${what} in a cancelled scope must raise Cancelled`);
        };
        tg.spawn(() => expectCancelled(() => s.send("x"), "send()"));
        tg.spawn(() => expectCancelled(() => r.receive(1), "receive()"));
      }),
    );
    await withTaskGroup(async (tg) => {
      tg.spawn(() => s.close());
      tg.spawn(() => r.close());
    });
  });

  // A task blocked in receive() is woken by close() with ClosedResourceError.
  await withPair(makePair, async (_s, r) => {
    await withTaskGroup(async (tg) => {
      tg.spawn(() => expectError(r.receive(10), ClosedResourceError, "a receive() blocked when its stream was closed"));
      await waitAllTasksBlocked();
      await closeForcefully(r);
    });
  });

  if (makeCloggedPair === undefined || makeCloggedPair === null) return;

  await withPair(makeCloggedPair, async (s) => {
    await expectError(
      withTaskGroup(async (tg) => {
        tg.spawn(() => s.send("123"));
        tg.spawn(() => s.send("123"));
      }),
      BusyResourceError,
      "two concurrent send() calls on a clogged stream",
    );
  });

  // A task blocked in send() is woken by close() with ClosedResourceError.
  await withPair(makeCloggedPair, async (s) => {
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        await waitAllTasksBlocked();
        await closeForcefully(s);
      });
      await expectError(
        (async () => {
          for (;;) await s.send("xyzzy");
        })(),
        ClosedResourceError,
        "a send() blocked when its stream was closed",
      );
    });
  });
}

/**
 * Checks a two-way stream implementation, as Trio's `check_two_way_stream`: everything
 * {@link checkOneWayStream} checks, in both directions, plus 1 MiB each way at once in random
 * chunk sizes (seeded), and EOF seen by one side when the other closes.
 *
 * @param makePair - Resolves to a fresh connected pair `[a, b]` of {@link Stream}s.
 * @param makeCloggedPair - Optional: a pair whose `send` blocks until the peer receives.
 * @throws {AssertionError} If the streams break a rule.
 * @example
 * ```ts
 * import { checkTwoWayStream, memoryStreamPair } from "trellis/testing";
 * await checkTwoWayStream(async () => memoryStreamPair());
 * ```
 */
export async function checkTwoWayStream(makePair: StreamMaker<Stream, Stream>, makeCloggedPair?: StreamMaker<Stream, Stream> | null): Promise<void> {
  requireFunction("checkTwoWayStream()", "makePair", makePair);
  await checkOneWayStream(makePair, makeCloggedPair);
  const flip = (maker: StreamMaker<Stream, Stream>) => async () => {
    const [a, b] = await maker();
    return [b, a] as const;
  };
  await checkOneWayStream(flip(makePair), makeCloggedPair ? flip(makeCloggedPair) : undefined);

  await withPair(makePair, async (s1, s2) => {
    const SIZE = 1 << 20;
    const CHUNK_MAX = 1 << 14;
    const data = randomBytes(SIZE, 0);
    const reversed = data.slice().reverse();
    const sender = async (s: Stream, bytes: Uint8Array, seed: number) => {
      const rand = mulberry32(seed);
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + Math.floor(rand() * CHUNK_MAX);
        await s.send(bytes.subarray(i, i + n));
        i += n;
      }
    };
    const receiver = async (s: Stream, bytes: Uint8Array, seed: number) => {
      const rand = mulberry32(seed);
      const got = new Uint8Array(bytes.length);
      let at = 0;
      while (at < bytes.length) {
        const chunk = await s.receive(1 + Math.floor(rand() * CHUNK_MAX));
        check(chunk.byteLength > 0, `receive() returned EOF after ${at} of ${bytes.length} bytes`);
        check(at + chunk.byteLength <= bytes.length, "received more bytes than were sent");
        got.set(chunk, at);
        at += chunk.byteLength;
      }
      check(Buffer.from(got).equals(Buffer.from(bytes)), "the bytes received differ from the bytes sent");
    };
    await withTaskGroup(async (tg) => {
      tg.spawn(() => sender(s1, data, 0));
      tg.spawn(() => sender(s2, reversed, 1));
      tg.spawn(() => receiver(s1, reversed, 2));
      tg.spawn(() => receiver(s2, data, 3));
    });
    await withTaskGroup(async (tg) => {
      tg.spawn(async () => {
        const got = await s2.receive(10);
        check(got.byteLength === 0, "receive() after the peer closed must return EOF (an empty chunk)");
        await s2.close();
      });
      tg.spawn(() => s1.close());
    });
  });
}

/**
 * Checks a half-closeable stream, as Trio's `check_half_closeable_stream`: everything
 * {@link checkTwoWayStream} checks, plus `sendEof()` (EOF for the peer, `ClosedResourceError`
 * for later sends, idempotent, the other direction still open) and `BusyResourceError` for
 * `sendEof()` during a blocked `send()`.
 *
 * @param makePair - Resolves to a fresh connected pair `[a, b]` of {@link HalfCloseableStream}s.
 * @param makeCloggedPair - Optional: a pair whose `send` blocks until the peer receives.
 * @throws {AssertionError} If the streams break a rule.
 * @example
 * ```ts
 * import { checkHalfCloseableStream, memoryStreamPair } from "trellis/testing";
 * await checkHalfCloseableStream(async () => memoryStreamPair(), async () => memoryStreamPair({ capacity: 0 }));
 * ```
 */
export async function checkHalfCloseableStream(
  makePair: StreamMaker<HalfCloseableStream, HalfCloseableStream>,
  makeCloggedPair?: StreamMaker<HalfCloseableStream, HalfCloseableStream> | null,
): Promise<void> {
  requireFunction("checkHalfCloseableStream()", "makePair", makePair);
  await checkTwoWayStream(makePair, makeCloggedPair);

  await withPair(makePair, async (s1, s2) => {
    check(typeof s1.sendEof === "function" && typeof s2.sendEof === "function", "the streams have no sendEof() method");
    const sendXThenEof = async (s: HalfCloseableStream) => {
      await s.send("x");
      await s.sendEof();
    };
    const expectXThenEof = async (r: HalfCloseableStream) => {
      await waitAllTasksBlocked();
      check(text(await r.receive(10)) === "x", "the data sent before sendEof() must arrive");
      check((await r.receive(10)).byteLength === 0, "sendEof() must be seen as EOF (an empty chunk)");
    };
    await withTaskGroup(async (tg) => {
      tg.spawn(() => sendXThenEof(s1));
      tg.spawn(() => expectXThenEof(s2));
    });
    await expectError(s1.send("y"), ClosedResourceError, "send() after sendEof()");
    await assertCheckpoints(() => s1.sendEof());
    await s1.sendEof();
    await withTaskGroup(async (tg) => {
      tg.spawn(() => sendXThenEof(s2));
      tg.spawn(() => expectXThenEof(s1));
    });
  });

  if (makeCloggedPair === undefined || makeCloggedPair === null) return;
  await withPair(makeCloggedPair, async (s1) => {
    await expectError(
      withTaskGroup(async (tg) => {
        tg.spawn(async () => {
          for (;;) await s1.send("x");
        });
        await waitAllTasksBlocked();
        tg.spawn(() => s1.sendEof());
      }),
      BusyResourceError,
      "sendEof() during a blocked send()",
    );
  });
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rand = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rand() * 256);
  return out;
}
