// A seeded, randomized run of serveHttp: requests that succeed, fail before or after their
// headers, hang past requestTimeoutMs, or whose clients disconnect, interleaved with a shutdown
// at a random moment with a random grace. Whatever the interleaving, every request has exactly
// one outcome that agrees with what its handler did, every failure is reported once, and
// nothing is left afterwards. The seed is in the test's name: a failure replays.
import { test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { isCancelled, sleep, sleepForever } from "../../src/index.js";
import { currentScope } from "../../src/core/index.js";
import { assertNothingLeft, baseline, withServer } from "./support.js";
import { mulberry32 } from "../support/prng.js";

const KINDS = ["ok", "fail", "failAfterHeaders", "hang", "disconnect"] as const;
type Kind = (typeof KINDS)[number];

interface Plan {
  id: number;
  kind: Kind;
  startAt: number;
  handlerDelay: number;
  disconnectAfter: number;
}

/** What the client saw: a status with the whole body, a broken connection, or its own disconnect. */
type ClientOutcome = number | "reset" | "disconnected";

function send(port: number, plan: Plan): Promise<ClientOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (o: ClientOutcome) => {
      if (settled) return;
      settled = true;
      resolve(o);
    };
    const req = request({ host: "127.0.0.1", port, path: `/${plan.kind}/${plan.id}?delay=${plan.handlerDelay}`, agent: false }, (res) => {
      res.resume();
      res.on("end", () => settle(res.statusCode!));
      res.on("error", () => settle("reset"));
      res.on("aborted", () => settle("reset"));
    });
    req.on("error", () => settle("reset"));
    req.end();
    if (plan.kind === "disconnect") {
      setTimeout(() => {
        req.destroy();
        settle("disconnected");
      }, plan.disconnectAfter);
    }
  });
}

for (const seed of [1, 2, 3, 0xc0ffee]) {
  test(`seed ${seed}: every request gets exactly one outcome matching its handler, failures are reported once, nothing leaks`, async () => {
    const before = baseline();
    const random = mulberry32(seed);
    const n = 30;
    const plans: Plan[] = Array.from({ length: n }, (_, id) => ({
      id,
      kind: KINDS[Math.floor(random() * KINDS.length)]!,
      startAt: Math.floor(random() * 150),
      handlerDelay: Math.floor(random() * 30),
      disconnectAfter: 5 + Math.floor(random() * 30),
    }));
    const shutdownAt = 40 + Math.floor(random() * 150);
    const graceMs = Math.floor(random() * 60);
    const ends = new Map<number, string[]>();
    const reported: number[] = [];
    let clients: Promise<ClientOutcome>[] = [];
    let resources: Set<unknown> | undefined;

    await withServer(
      async (req, res) => {
        const [, kind, idText] = /^\/(\w+)\/(\d+)/.exec(req.url!)!;
        const id = Number(idText);
        const record = ends.get(id) ?? [];
        ends.set(id, record);
        const delay = Number(new URL(req.url!, "http://x").searchParams.get("delay"));
        try {
          await sleep(delay);
          if (kind === "ok") res.end("ok");
          else if (kind === "fail") throw new Error(String(id));
          else if (kind === "failAfterHeaders") {
            res.writeHead(200);
            res.write("partial");
            await sleep(1);
            throw new Error(String(id));
          } else await sleepForever(); // hang, disconnect
          record.push("done");
        } catch (err) {
          record.push(isCancelled(err) ? "cancelled" : "threw");
          throw err;
        }
      },
      { requestTimeoutMs: 60, shutdownGraceMs: graceMs, onError: (err) => reported.push(Number((err as Error).message)) },
      async (info) => {
        resources = (currentScope()!.runtime as unknown as { resources: Set<unknown> }).resources;
        clients = plans.map((plan) => new Promise<void>((r) => setTimeout(r, plan.startAt)).then(() => send(info.port, plan)));
        await sleep(shutdownAt);
      },
    );
    const outcomes = await Promise.all(clients);
    const context = `seed ${seed}, shutdown at ${shutdownAt} ms, grace ${graceMs} ms`;

    for (const plan of plans) {
      const o = outcomes[plan.id]!;
      const record = ends.get(plan.id);
      const what = `request ${plan.id} (${plan.kind}) → ${o}, handler ${JSON.stringify(record)}; ${context}`;
      // A handler that started ended exactly once.
      if (record !== undefined) assert.equal(record.length, 1, what);
      const end = record?.[0];
      if (o === 200) assert.ok(plan.kind === "ok" && end === "done", what);
      else if (o === 500) assert.ok(plan.kind === "fail" && end === "threw", what);
      else if (o === 503) assert.equal(end, "cancelled", what); // requestTimeoutMs, or the grace ran out
      else if (o === "disconnected") assert.ok(end === undefined || end === "cancelled", what);
      else if (o === "reset") {
        // Refused (the server had stopped accepting), or a response that had started and then
        // failed or was cancelled.
        assert.ok(end === undefined || (plan.kind === "failAfterHeaders" && (end === "threw" || end === "cancelled")), what);
      } else assert.fail(`unexpected outcome: ${what}`);
      if (plan.kind === "hang" && end !== undefined) assert.equal(end, "cancelled", what);
    }
    const threw = plans.filter((p) => ends.get(p.id)?.[0] === "threw").map((p) => p.id);
    assert.deepEqual([...reported].sort((a, b) => a - b), threw, `every failure reported once; ${context}`);
    assert.ok(new Set(outcomes).size >= 2, `the seed exercises several outcomes: ${outcomes.join(" ")}`);
    assert.equal(resources?.size, 0);
    await assertNothingLeft(before);
  });
}
