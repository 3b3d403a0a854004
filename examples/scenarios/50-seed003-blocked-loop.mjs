// Seed 003: asyncio's debug mode names "slow callbacks" (those that block the event loop for more
// than 100 ms). In Node, a handler that does 300 ms of synchronous work (hashing, a huge
// JSON.parse, a regex gone wrong) silently freezes everything else: timers fire late, sockets
// wait, and nothing says which code did it. With run(main, { debug: true }) trellis's
// blocked-loop detector reports the stall once, with its duration, the task that ran it, and a
// stack of where it ran (sampled during the stall from a monitor thread).
import { spawnSync } from "node:child_process";

export const title = "A task blocks the event loop with synchronous work";
export const seed = "003";
export const order = 50;

const DIST = new URL("../../dist/index.js", import.meta.url).href;

// The same service both ways: a heartbeat every 20 ms, and a request handler that hashes
// passwords synchronously for 300 ms. The heartbeat notices it was late; who blocked it?
const spin = `function hashPasswords(ms) { const end = performance.now() + ms; while (performance.now() < end) {} }`;

function runChild(program) {
  return spawnSync(process.execPath, ["--input-type=module", "-e", program], { encoding: "utf8", timeout: 15_000 });
}

export async function plain() {
  const child = runChild(`
    ${spin}
    let last = performance.now(), worst = 0;
    const beat = setInterval(() => { const now = performance.now(); worst = Math.max(worst, now - last); last = now; }, 20);
    setTimeout(async function handleLogin() { hashPasswords(300); }, 100);
    setTimeout(() => { clearInterval(beat); console.log("worst heartbeat gap: " + Math.round(worst) + " ms"); }, 600);
  `);
  console.log(`  ${child.stdout.trim()}`);
  console.log(`  [stderr] ${child.stderr.trim() === "" ? "(nothing)" : child.stderr.trim()}`);
  return "the loop froze for ~300 ms and nothing said which code did it";
}

export async function trellis() {
  const child = runChild(`
    import { run, withTaskGroup, sleep } from ${JSON.stringify(DIST)};
    ${spin}
    await run(() => withTaskGroup(async (tg) => {
      tg.spawn(async () => { for (let i = 0; i < 25; i++) await sleep(20); }, { name: "heartbeat" });
      tg.spawn(async function handleLogin() { await sleep(100); hashPasswords(300); }, { name: "login request" });
    }), { debug: { slowMs: 100 }, handleSignals: false });
  `);
  const report = child.stderr.split("\n").filter((line) => line.trim() !== "" && !line.includes("node:internal"));
  const named = report.find((line) => line.includes('by task "login request"'));
  for (const line of named === undefined ? report : report.slice(report.indexOf(named), report.indexOf(named) + 4)) console.log(`  [stderr] ${line}`);
  return named !== undefined
    ? 'the stall was reported once: ~300 ms, by task "login request", at hashPasswords ← handleLogin'
    : "the detector did not name the task (see the report above)";
}
