// serveHttp (API.md §3 "trellis/http"): requests as tasks, disconnects and deadlines as
// cancellation, failures answered and reported, graceful shutdown. Real clients over loopback.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Agent, type IncomingMessage } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { setTimeout as delay } from "node:timers/promises";
import {
  currentSignal,
  currentTask,
  Event,
  isCancelled,
  run,
  sleep,
  sleepForever,
  withCancelScope,
  withTaskGroup,
  type Task,
} from "../../src/index.js";
import { currentScope } from "../../src/core/index.js";
import { MockClock, waitAllTasksBlocked } from "../../src/testing/index.js";
import { serveHttp, type HttpServerInfo } from "../../src/http/index.js";
import { assertNothingLeft, baseline, closedWith, get, outcome, rawConnect, withServer } from "./support.js";
import { thrown } from "../support/thrown.js";

describe("serveHttp: requests", () => {
  test("each request runs as its own task named after its method and path (no query string), spawned by the serving task; status reports port, address and url", async () => {
    const before = baseline();
    const seen: { name: string; parent: string | undefined; id: number }[] = [];
    await withServer(
      (req, res) => {
        const task = currentTask()!;
        seen.push({ name: task.name, parent: task.parent?.name, id: task.id });
        res.end(`hi ${req.url}`);
      },
      undefined,
      async (info) => {
        assert.equal(info.address, "127.0.0.1");
        assert.ok(info.port > 0);
        assert.equal(info.url, `http://127.0.0.1:${info.port}/`);
        assert.deepEqual(await get(info.url, "/a?x=1").then((r) => [r.status, r.body]), [200, "hi /a?x=1"]);
        assert.equal((await get(info.url, "/b", { method: "POST", body: "x" })).body, "hi /b");
      },
    );
    assert.deepEqual(
      seen.map((s) => [s.name, s.parent]),
      [
        ["GET /a", "server"],
        ["POST /b", "server"],
      ],
    );
    assert.notEqual(seen[0]!.id, seen[1]!.id);
    await assertNothingLeft(before);
  });

  test("on ::1 the url brackets the address; with no host it listens on every address and the url says localhost", async (t) => {
    const probe = createNetServer();
    const hasIpv6 = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(0, "::1", () => probe.close(() => resolve(true)));
    });
    if (!hasIpv6) return t.skip("no IPv6 loopback here");
    await run(
      () =>
        withTaskGroup(async (tg) => {
          const v6 = await tg.start<HttpServerInfo>((status) => serveHttp((_req, res) => res.end("v6"), { host: "::1", status }));
          assert.equal(v6.address, "::1");
          assert.equal(v6.url, `http://[::1]:${v6.port}/`);
          assert.equal((await get(v6.url)).body, "v6");
          const any = await tg.start<HttpServerInfo>((status) => serveHttp((_req, res) => res.end("any"), { status }));
          assert.match(any.address, /^(::|0\.0\.0\.0)$/);
          assert.equal(any.url, `http://localhost:${any.port}/`);
          tg.cancel();
        }),
      { handleSignals: false },
    );
  });

  test("works outside run(): in a task group of its own, on the real clock", async () => {
    const before = baseline();
    await withTaskGroup(async (tg) => {
      const info = await tg.start<HttpServerInfo>((status) =>
        serveHttp((_req, res) => res.end(currentTask()!.name), { host: "127.0.0.1", status, requestTimeoutMs: 1_000 }),
      );
      assert.equal((await get(info.url, "/out")).body, "GET /out");
      tg.cancel();
    });
    await assertNothingLeft(before);
  });

  test("the server is a tracked resource (kind \"http server\", labelled with its url) until it has shut down", async () => {
    type Registry = { resources: Set<{ kind: string; label: string }> };
    let runtime: Registry | undefined;
    await withServer(
      (_req, res) => res.end(),
      undefined,
      async (info) => {
        runtime = currentScope()!.runtime as unknown as Registry;
        assert.deepEqual([...runtime!.resources].map((r) => [r.kind, r.label]), [["http server", info.url]]);
      },
    );
    assert.equal(runtime?.resources.size, 0);
  });

  test("waits are labelled (http serve 127.0.0.1:port, a request task waiting for its response), and every task spawned has exited after shutdown", async () => {
    const labels: string[] = [];
    let spawned = 0;
    let exited = 0;
    let port = 0;
    await withServer(
      (_req, res) => {
        setTimeout(() => res.end("later"), 10);
      },
      undefined,
      async (info) => {
        port = info.port;
        await get(info.url, "/x");
      },
      {
        instruments: [
          {
            taskBlocked: (_task, label) => labels.push(label),
            taskSpawned: () => spawned++,
            taskExited: () => exited++,
          },
        ],
      },
    );
    assert.ok(labels.includes(`http serve 127.0.0.1:${port}`), labels.join(", "));
    assert.ok(labels.includes("http response end (the handler returned before ending it)"), labels.join(", "));
    assert.ok(spawned >= 3, "main, the server and the request");
    assert.equal(exited, spawned);
  });

  test("a handler written for node:http that answers later from a callback keeps its task until the response ends", async () => {
    const states: string[] = [];
    let task: Task<unknown> | undefined;
    await withServer(
      (_req, res) => {
        task = currentTask() as Task<unknown>;
        setTimeout(() => {
          states.push(`before end: ${task!.state}`);
          res.end("late");
        }, 20);
      },
      undefined,
      async (info) => {
        assert.equal((await get(info.url, "/cb")).body, "late");
      },
    );
    states.push(`after: ${task!.state}`);
    assert.deepEqual(states, ["before end: running", "after: done"]);
  });

  test("currentSignal() inside a handler belongs to the request and is not aborted while it runs", async () => {
    await withServer(
      async (_req, res) => {
        const signal = currentSignal();
        await sleep(1);
        res.end(String(signal.aborted));
      },
      undefined,
      async (info) => {
        assert.equal((await get(info.url)).body, "false");
      },
    );
  });
});

describe("serveHttp: failures", () => {
  test("a handler that throws before sending is answered 500, reported through onError with its task and request, and the server goes on", async () => {
    const before = baseline();
    const reports: [unknown, string, string | undefined][] = [];
    const values: unknown[] = [new Error("boom"), undefined, 42, "text"];
    let i = 0;
    await withServer(
      async (req, res) => {
        if (req.url === "/ok") return void res.end("ok");
        res.setHeader("X-Half-Done", "1");
        await sleep(0);
        throw values[i++];
      },
      {
        onError: (err: unknown, task: Task<unknown>, req: IncomingMessage) => reports.push([err, task.name, req.url]),
      },
      async (info) => {
        for (let k = 0; k < values.length; k++) {
          const reply = await get(info.url, `/fail${k}`);
          assert.equal(reply.status, 500);
          assert.equal(reply.headers["x-half-done"], undefined, "headers the handler had set are dropped");
          assert.match(reply.body, /Internal Server Error/);
        }
        assert.equal((await get(info.url, "/ok")).body, "ok");
      },
    );
    assert.deepEqual(
      reports.map((r) => [r[1], r[2]]),
      values.map((_, k) => [`GET /fail${k}`, `/fail${k}`]),
    );
    assert.equal(reports[0]![0], values[0], "the error keeps its identity");
    assert.deepEqual(reports.slice(1).map((r) => r[0]), [undefined, 42, "text"], "thrown non-errors are reported as they are");
    assert.match((values[0] as Error).stack!, /in task "GET \/fail0"/, "the stack names the task chain");
    await assertNothingLeft(before);
  });

  test("without onError, a failure is printed on stderr with the request, what was done and the task chain", async () => {
    const written: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await withServer(
        () => {
          throw new TypeError("bad handler");
        },
        undefined,
        async (info) => {
          assert.equal((await get(info.url, "/x")).status, 500);
        },
      );
    } finally {
      process.stderr.write = write;
    }
    const text = written.join("");
    assert.match(text, /request "GET \/x" \(task #\d+\) of http server http:\/\/127\.0\.0\.1:\d+\/ failed; it was answered with 500/);
    assert.match(text, /TypeError: bad handler/);
    assert.match(text, /in task "GET \/x" \(#\d+\), spawned by task "server"/);
  });

  test("a handler that throws after the headers were sent gets its connection destroyed, and is reported", async () => {
    const reports: unknown[] = [];
    await withServer(
      async (_req, res) => {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.write("partial");
        await sleep(5);
        throw new Error("mid-response");
      },
      { onError: (err) => reports.push(err) },
      async (info) => {
        assert.equal(await outcome(get(info.url, "/half")), "reset");
      },
    );
    assert.equal(reports.length, 1);
    assert.match((reports[0] as Error).message, /mid-response/);
  });

  test("if onError throws, the server shuts down and serveHttp throws that error", async () => {
    const broken = new Error("logger down");
    const err = await thrown(() =>
      run(
        () =>
          withTaskGroup(async (tg) => {
            const info = await tg.start<HttpServerInfo>((status) =>
              serveHttp(
                () => {
                  throw new Error("handler");
                },
                {
                  host: "127.0.0.1",
                  status,
                  onError: () => {
                    throw broken;
                  },
                },
              ),
            );
            assert.equal((await get(info.url)).status, 500);
            await sleepForever();
          }),
        { handleSignals: false },
      ),
    );
    assert.equal(err, broken);
  });

  test("a port in use is an error naming the port, with code EADDRINUSE, and nothing is left", async () => {
    const before = baseline();
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as AddressInfo).port;
    try {
      const err = (await thrown(() => run(() => serveHttp(() => {}, { port, host: "127.0.0.1" }), { handleSignals: false }))) as Error & {
        code?: string;
      };
      assert.equal(err.code, "EADDRINUSE");
      assert.match(err.message, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.match(err.message, /another `port`/);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
    await assertNothingLeft(before);
  });
});

describe("serveHttp: cancellation of requests", () => {
  test("requestTimeoutMs cancels a handler that never answers (503) and aborts its currentSignal(); one that had started answering loses its connection", async () => {
    const before = baseline();
    const seen: string[] = [];
    await withServer(
      async (req, res) => {
        const signal = currentSignal();
        if (req.url === "/started") res.write("x");
        try {
          await sleepForever();
        } catch (err) {
          seen.push(`${req.url} ${isCancelled(err)} ${signal.aborted}`);
          throw err;
        }
      },
      { requestTimeoutMs: 50 },
      async (info) => {
        const reply = await get(info.url, "/never");
        assert.equal(reply.status, 503);
        assert.match(reply.body, /requestTimeoutMs \(50 ms\)/);
        assert.equal(await outcome(get(info.url, "/started")), "reset");
      },
    );
    assert.deepEqual(seen.sort(), ["/never true true", "/started true true"]);
    await assertNothingLeft(before);
  });

  test("an AbortError from an API given currentSignal() (its cause the Cancelled) is the cancellation arriving: answered 503 on timeout, not reported", async () => {
    const reports: unknown[] = [];
    const errors: string[] = [];
    await withServer(
      async () => {
        try {
          await delay(60_000, undefined, { signal: currentSignal() });
        } catch (err) {
          errors.push((err as Error).name);
          throw err;
        }
      },
      { requestTimeoutMs: 30, onError: (err) => reports.push(err) },
      async (info) => {
        assert.equal((await get(info.url, "/q")).status, 503);
      },
    );
    assert.deepEqual(errors, ["AbortError"]);
    assert.deepEqual(reports, []);
  });

  test("a client that sends part of a body and disconnects cancels the handler: Cancelled at its checkpoint, currentSignal() aborted, nothing reported", async () => {
    const before = baseline();
    const reports: unknown[] = [];
    const gotData = new Event();
    const ended = new Event();
    let seen = "";
    await withServer(
      async (req) => {
        const signal = currentSignal();
        req.once("data", () => gotData.set());
        try {
          await sleepForever(); // a database query, a fetch… made for this request
        } catch (err) {
          seen = `${isCancelled(err)} ${signal.aborted}`;
          throw err;
        } finally {
          ended.set();
        }
      },
      { onError: (err) => reports.push(err) },
      async (info) => {
        const socket = await rawConnect(info);
        socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"a".repeat(100)}`);
        await gotData.wait();
        socket.destroy();
        await ended.wait();
      },
    );
    assert.equal(seen, "true true");
    assert.deepEqual(reports, []);
    await assertNothingLeft(before);
  });

  test("a handler reading the body with for await when the client disconnects mid-body: its 'aborted' error is the disconnect, not a failure", async () => {
    const reports: unknown[] = [];
    const ended = new Event();
    const gotData = new Event();
    let state = "";
    await withServer(
      async (req) => {
        try {
          for await (const _chunk of req) gotData.set();
          state = "read all";
        } catch (err) {
          state = `threw, cancelled: ${currentSignal().aborted}`;
          throw err;
        } finally {
          ended.set();
        }
      },
      { onError: (err) => reports.push(err) },
      async (info) => {
        const socket = await rawConnect(info);
        socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n${"a".repeat(100)}`);
        await gotData.wait();
        socket.destroy();
        await ended.wait();
      },
    );
    assert.equal(state, "threw, cancelled: true");
    assert.deepEqual(reports, []);
  });

  test("a slow-loris client that never finishes its headers is answered 408 and disconnected after headersTimeoutMs; no request task is made", async () => {
    const before = baseline();
    let requests = 0;
    await withServer(
      (_req, res) => {
        requests++;
        res.end();
      },
      { headersTimeoutMs: 100 },
      async (info) => {
        const socket = await rawConnect(info);
        const closed = closedWith(socket);
        socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
        const drip = setInterval(() => socket.write("X-Slow: 1\r\n"), 20);
        try {
          assert.match(await closed, /^HTTP\/1\.1 408/);
        } finally {
          clearInterval(drip);
        }
      },
    );
    assert.equal(requests, 0);
    await assertNothingLeft(before);
  });
});

describe("serveHttp: shutdown", () => {
  test("cancelling the server closes idle keep-alive connections at once, while a request is still running", async () => {
    const before = baseline();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const order: string[] = [];
    const release = new Event();
    const holding = new Event();
    await withServer(
      async (req, res) => {
        if (req.url === "/hold") {
          holding.set();
          await release.wait();
          order.push("held request answered");
        }
        res.end("ok");
      },
      { shutdownGraceMs: 60_000 },
      async (info, tg) => {
        await get(info.url, "/", { agent });
        // The agent keeps the connection once the response has ended (a tick later).
        for (let i = 0; i < 100 && Object.keys(agent.freeSockets).length === 0; i++) await sleep(1);
        const idle = Object.values(agent.freeSockets).flat()[0]!;
        idle.on("close", () => {
          order.push("idle connection closed");
          release.set();
        });
        const held = get(info.url, "/hold");
        await holding.wait();
        tg.cancel();
        const reply = await held;
        assert.equal(reply.status, 200);
        assert.equal(reply.headers.connection, "close", "a request answered during shutdown closes its connection");
      },
      { clock: undefined },
    );
    agent.destroy();
    assert.deepEqual(order, ["idle connection closed", "held request answered"]);
    await assertNothingLeft(before);
  });

  test("requests in flight finish within the grace and get their full answer; keep-alive connections then close", async () => {
    const before = baseline();
    const agent = new Agent({ keepAlive: true });
    const started = new Event();
    await withServer(
      async (_req, res) => {
        started.set();
        res.write("part 1, ");
        await sleep(100);
        res.end("part 2");
      },
      { shutdownGraceMs: 10_000 },
      async (info, tg) => {
        const reply = get(info.url, "/slow", { agent });
        await started.wait();
        tg.cancel();
        const r = await reply;
        assert.deepEqual([r.status, r.body], [200, "part 1, part 2"]);
      },
    );
    agent.destroy();
    await assertNothingLeft(before);
  });

  test("after shutdownGraceMs, running requests are cancelled: 503 if they had sent nothing, a closed connection if they had", async () => {
    const before = baseline();
    const cancelled: string[] = [];
    const running = { count: 0, two: new Event() };
    const clock = new MockClock();
    let replies: Promise<number | "reset">[] = [];
    await withServer(
      async (req, res) => {
        if (req.url === "/streaming") res.write("x");
        if (++running.count === 2) running.two.set();
        try {
          await sleepForever();
        } catch (err) {
          cancelled.push(`${req.url} ${isCancelled(err)} ${currentSignal().aborted}`);
          throw err;
        }
      },
      { shutdownGraceMs: 5_000 },
      async (info, tg) => {
        replies = [outcome(get(info.url, "/quiet")), outcome(get(info.url, "/streaming"))];
        await running.two.wait();
        tg.cancel();
        // The server waits for the grace on the run's clock: nothing is cancelled until it passes.
        await withCancelScope(() => waitAllTasksBlocked(), { shield: true });
        assert.deepEqual(cancelled, []);
        clock.jump(5_000);
      },
      { clock },
    );
    assert.deepEqual(await Promise.all(replies), [503, "reset"]);
    assert.deepEqual(cancelled.sort(), ["/quiet true true", "/streaming true true"]);
    await assertNothingLeft(before);
  });

  test("a request whose headers complete during the grace is served, with Connection: close", async () => {
    const release = new Event();
    const holding = new Event();
    await withServer(
      async (req, res) => {
        if (req.url === "/hold") {
          holding.set();
          await release.wait();
        }
        res.end(req.url);
      },
      { shutdownGraceMs: 60_000 },
      async (info, tg) => {
        const socket = await rawConnect(info);
        const closed = closedWith(socket);
        const held = get(info.url, "/hold");
        await holding.wait();
        socket.write("GET /late HTTP/1.1\r\n");
        // A whole request on another connection, answered: the server has read the partial
        // request (its bytes were there first), so that connection is busy, not idle.
        await get(info.url, "/ping");
        tg.cancel();
        await withCancelScope(() => waitAllTasksBlocked(), { shield: true });
        socket.write("Host: x\r\n\r\n");
        const text = await closed;
        assert.match(text, /^HTTP\/1\.1 200/);
        assert.match(text, /Connection: close/i);
        assert.match(text, /\/late$/);
        release.set();
        assert.equal((await held).status, 200);
      },
    );
  });
});

describe("serveHttp: bad input", () => {
  const h = () => {};
  const cases: [string, () => Promise<unknown>, typeof TypeError, RegExp][] = [
    ["handler", () => serveHttp(1 as never), TypeError, /`handler` must be a function, got 1 \(number\)/],
    ["options", () => serveHttp(h, 5 as never), TypeError, /`options` must be an object/],
    ["port -1", () => serveHttp(h, { port: -1 }), RangeError, /`options.port` must be an integer 0–65535.*got -1/],
    ["port 1.5", () => serveHttp(h, { port: 1.5 }), RangeError, /`options.port`.*1\.5/],
    ["port 65536", () => serveHttp(h, { port: 65536 }), RangeError, /`options.port`.*65536/],
    ["port string", () => serveHttp(h, { port: "80" as never }), TypeError, /`options.port`.*"80" \(string\)/],
    ["host", () => serveHttp(h, { host: 1 as never }), TypeError, /`options.host` must be a string/],
    ["status", () => serveHttp(h, { status: {} as never }), TypeError, /`options.status`/],
    ["requestTimeoutMs", () => serveHttp(h, { requestTimeoutMs: -1 }), RangeError, /`options.requestTimeoutMs`/],
    ["requestTimeoutMs 0", () => serveHttp(h, { requestTimeoutMs: 0 }), RangeError, /`options.requestTimeoutMs` must be > 0/],
    ["headersTimeoutMs", () => serveHttp(h, { headersTimeoutMs: NaN }), RangeError, /`options.headersTimeoutMs`/],
    ["headersTimeoutMs Infinity", () => serveHttp(h, { headersTimeoutMs: Infinity }), RangeError, /`options.headersTimeoutMs`.*finite/],
    ["shutdownGraceMs", () => serveHttp(h, { shutdownGraceMs: -5 }), RangeError, /`options.shutdownGraceMs`/],
    ["tls", () => serveHttp(h, { tls: "cert" as never }), TypeError, /`options.tls` must be an object/],
    ["onError", () => serveHttp(h, { onError: 1 as never }), TypeError, /`options.onError` must be a function/],
  ];
  for (const [name, call, type, message] of cases) {
    test(`bad ${name}: rejects with a ${type.name} naming it, without throwing synchronously`, async () => {
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = call();
      });
      await assert.rejects(promise!, (err: unknown) => err instanceof type && message.test((err as Error).message));
    });
  }

  test("null options mean the defaults", async () => {
    await run(
      () =>
        withTaskGroup(async (tg) => {
          const info = await tg.start<HttpServerInfo>((status) =>
            serveHttp((_req, res) => res.end("ok"), {
              port: null,
              host: "127.0.0.1",
              requestTimeoutMs: null,
              headersTimeoutMs: null,
              shutdownGraceMs: null,
              tls: null,
              onError: null,
              status,
            }),
          );
          assert.equal((await get(info.url)).body, "ok");
          tg.cancel();
        }),
      { handleSignals: false },
    );
  });

  test("serveHttp in a cancelled scope raises Cancelled before listening", async () => {
    const before = baseline();
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.cancel();
          const err = await thrown(() => serveHttp(() => {}, { host: "127.0.0.1" }));
          assert.ok(isCancelled(err));
        }),
      { handleSignals: false },
    );
    await assertNothingLeft(before);
  });
});

describe("serveHttp: nothing left when it returns", () => {
  // The rule "no leaks: when run() returns, no server of trellis is left", checked at once
  // (no polling): Node emits a server's "close" before libuv has closed its listening handle.
  const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;

  test("once serveHttp has returned after a shutdown, its listening handle is closed (no TCPServerWrap left)", async () => {
    const before = servers();
    await run(
      () =>
        withTaskGroup(async (tg) => {
          await tg.start<HttpServerInfo>((status) => serveHttp(() => {}, { host: "127.0.0.1", status }));
          tg.cancel();
        }),
      { handleSignals: false },
    );
    assert.equal(servers(), before);
  });

  test("once serveHttp has returned after being cancelled while it started listening (host looked up), its listening handle is closed", async () => {
    const before = servers();
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(() => serveHttp(() => {}, { host: "localhost" }));
          tg.spawn(() => tg.cancel()); // runs while serveHttp waits for "listening"
        }),
      { handleSignals: false },
    );
    assert.equal(servers(), before);
  });
});
