// serveTaskTree (API.md §3 "trellis/debug"): JSON at /tree.json, the page in a real browser
// (Debian's chromium driven by playwright-core: the tree shows the running tasks, updates when
// one exits, filters by name and state), bound to 127.0.0.1, and nothing left once cancelled.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Event, run, sleep, sleepForever, withTaskGroup, type TaskGroup } from "../../src/index.js";
import { serveTaskTree, type TaskTreeAddress } from "../../src/debug/index.js";
import { waitAllTasksBlocked } from "../../src/testing/index.js";

const CHROMIUM = "/usr/bin/chromium";

interface JsonTask {
  id: number;
  name: string;
  state: string;
  waitingOn?: string;
  scopes: { deadline: number | null }[];
  children: JsonTask[];
}

function names(task: JsonTask | null): string[] {
  if (task === null) return [];
  return [task.name, ...task.children.flatMap(names)];
}

async function getJson(url: string): Promise<{ taskCount: number; root: JsonTask | null }> {
  const res = await fetch(`${url}tree.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /application\/json/);
  return (await res.json()) as { taskCount: number; root: JsonTask | null };
}

/** The listening sockets of this process: none may be left once run() has returned. */
function listeners(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap");
}

describe("serveTaskTree", () => {
  test("serves the live tree as JSON at /tree.json, bound to 127.0.0.1, and closes everything when cancelled", async () => {
    let address: TaskTreeAddress | undefined;
    let before: Awaited<ReturnType<typeof getJson>> | undefined;
    let after: Awaited<ReturnType<typeof getJson>> | undefined;
    await run(
      () =>
        withTaskGroup(async (tg) => {
          address = await tg.start<TaskTreeAddress>((status) => serveTaskTree({ status }), { name: "tree server" });
          const release = new Event();
          const quick = tg.spawn(() => release.wait(), { name: "quick" });
          tg.spawn(() => sleepForever(), { name: "forever" });
          await waitAllTasksBlocked();
          before = await getJson(address.url);
          release.set();
          await quick.result();
          after = await getJson(address.url);
          const page = await fetch(address.url);
          assert.equal(page.status, 200);
          assert.match(await page.text(), /<title>trellis task tree<\/title>/);
          assert.equal((await fetch(`${address.url}nope`)).status, 404);
          assert.equal((await fetch(`${address.url}tree.json`, { method: "POST" })).status, 405);
          tg.cancel();
        }),
      { handleSignals: false },
    );
    assert.ok(address);
    assert.equal(address.host, "127.0.0.1");
    assert.match(address.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(address.port > 0);
    assert.deepEqual(names(before!.root), ["main", "tree server", "quick", "forever"]);
    const quick = before!.root!.children.find((t) => t.name === "quick")!;
    assert.equal(quick.state, "blocked");
    assert.equal(quick.waitingOn, "Event.wait");
    assert.equal(quick.scopes[0]!.deadline, null, "Infinity is written as null");
    assert.deepEqual(names(after!.root), ["main", "tree server", "forever"], "a task that exited leaves the tree");
    assert.deepEqual(listeners(), [], "no listener left after run()");
  });

  test("rejects bad options with a clear error", async () => {
    await run(
      async () => {
        await assert.rejects(serveTaskTree({ port: -1 }), /`options.port` must be an integer from 0 to 65535, got -1/);
        await assert.rejects(serveTaskTree({ port: 1.5 }), RangeError);
        await assert.rejects(serveTaskTree({ host: 5 as unknown as string }), TypeError);
        await assert.rejects(serveTaskTree({ pollMs: 0 }), /pollMs/);
        await assert.rejects(serveTaskTree("x" as never), TypeError);
      },
      { handleSignals: false },
    );
  });

  test("no leaks: cancelled while it starts listening, serveTaskTree closes the server once the listen completes, before it returns", async () => {
    const servers = () => process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length;
    const before = servers();
    await run(
      () =>
        withTaskGroup(async (tg) => {
          tg.spawn(() => serveTaskTree());
          tg.spawn(() => tg.cancel()); // runs while serveTaskTree waits for its host lookup and listen
        }),
      { handleSignals: false },
    );
    assert.equal(servers(), before, "a server handle is left when run() returns");
    // A listen left under way would complete a little later and listen for ever: give it time.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(servers(), before, "a server started listening after run() returned");
  });

  test("randomized: the served tree always lists exactly the live tasks (seeded)", async () => {
    // mulberry32, as bench/prng.mjs: a fixed seed, so a failure replays.
    let seed = 20261206;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    await run(
      () =>
        withTaskGroup(async (tg) => {
          const { url } = await tg.start<TaskTreeAddress>((status) => serveTaskTree({ status }));
          const live = new Map<string, { stop: Event; task: { cancel(): void } }>();
          let next = 0;
          await withTaskGroup(async (workers: TaskGroup) => {
            for (let step = 0; step < 40; step++) {
              const r = random();
              if (r < 0.5 || live.size === 0) {
                const name = `w${next++}`;
                const stop = new Event();
                const task = workers.spawn(async () => {
                  try {
                    await stop.wait();
                  } finally {
                    live.delete(name);
                  }
                }, { name });
                live.set(name, { stop, task });
              } else {
                const victims = [...live.keys()];
                const name = victims[Math.floor(random() * victims.length)]!;
                // Finished or cancelled: either way it must leave the tree.
                if (random() < 0.5) live.get(name)!.stop.set();
                else live.get(name)!.task.cancel();
              }
              await waitAllTasksBlocked();
              const json = await getJson(url);
              const served = names(json.root).filter((n) => n.startsWith("w")).sort();
              assert.deepEqual(served, [...live.keys()].sort(), `step ${step}`);
            }
            for (const { stop } of live.values()) stop.set();
          });
          tg.cancel();
        }),
      { handleSignals: false },
    );
    assert.deepEqual(listeners(), []);
  });

  test("the page shows the running tasks, updates when one exits, and filters by name and state (chromium)", async (t) => {
    // Skipped on a developer's machine without chromium; in CI (which installs it) a missing
    // browser is a failure, never a silent skip.
    if (!existsSync(CHROMIUM) && process.env.CI === undefined) {
      t.skip(`${CHROMIUM} is not installed (CI installs Debian's chromium); the browser test of the page did not run`);
      return;
    }
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      await run(
        () =>
          withTaskGroup(async (tg) => {
            const { url } = await tg.start<TaskTreeAddress>((status) => serveTaskTree({ status, pollMs: 50 }), { name: "tree server" });
            const done = new Event();
            tg.spawn(() => done.wait(), { name: "short job" });
            tg.spawn(() => sleepForever(), { name: "db pool" });
            tg.spawn(async () => {
              for (;;) await sleep(5); // wakes up often: running or blocked, always alive
            }, { name: "ticker" });
            const page = await browser.newPage();
            await page.goto(url);
            const task = (name: string) => page.locator(`li.task[data-name="${name}"]`);
            for (const name of ["main", "tree server", "short job", "db pool", "ticker"]) await task(name).first().waitFor();
            assert.match((await task("short job").locator(".head").first().textContent()) ?? "", /blocked .* on Event\.wait/);
            assert.match((await task("db pool").locator(".head").first().textContent()) ?? "", /on sleepForever/);

            // A task exits: the page drops it at its next poll.
            done.set();
            await task("short job").waitFor({ state: "detached" });
            assert.equal(await task("db pool").count(), 1);

            // Filter by name: the match and its ancestors (dimmed), nothing else.
            await page.fill("#name-filter", "db");
            await task("ticker").waitFor({ state: "detached" });
            assert.equal(await page.locator("li.task.match").count(), 1);
            assert.equal(await page.locator('li.task.match[data-name="db pool"]').count(), 1);
            assert.equal(await page.locator('li.task.context[data-name="main"]').count(), 1);

            // Filter by state: only blocked tasks match.
            await page.fill("#name-filter", "");
            await page.selectOption("#state-filter", "blocked");
            await task("db pool").waitFor();
            const states = await page.locator("li.task.match").evaluateAll((els) => els.map((el) => (el as unknown as { dataset: { state?: string } }).dataset.state));
            assert.ok(states.length >= 2, `blocked tasks shown: ${states.join(",")}`);
            assert.ok(states.every((s) => s === "blocked"), states.join(","));
            await page.selectOption("#state-filter", "running");
            await page.locator('li.task.match[data-name="main"]').waitFor();

            // A filter that matches nothing says so.
            await page.fill("#name-filter", "no such task");
            await page.locator("#no-match").waitFor();
            assert.equal(await page.locator("li.task").count(), 0);
            await page.close();
            tg.cancel();
          }),
        { handleSignals: false },
      );
    } finally {
      await browser.close();
    }
    assert.deepEqual(listeners(), []);
  });
});
