/**
 * The blocked-loop detector of `run(main, { debug: { slowMs } })` (asyncio's slow-callback
 * warning, but naming the task and where it ran).
 *
 * How it works. The main thread writes a heartbeat (the wall-clock time) into a
 * `SharedArrayBuffer` from an unref'd interval of `slowMs / 4`. A monitor thread
 * (`worker_threads`) reads it every 10 ms at most; once it is older than `slowMs / 2`, the main
 * thread has had no turn of its event loop for that long, and the monitor, still during the
 * stall, pauses the main thread through the inspector (`Session.connectToMainThread()`,
 * `Debugger.pause`): the paused call frames are the stack of the code running right now, and
 * evaluating a small function on the first frame that is not Node's own reads the current
 * trellis task from the ambient context. The monitor posts that sample, then resumes the main
 * thread. The main thread, at its next heartbeat, sees the gap, takes the sample synchronously
 * (`receiveMessageOnPort`) and, if the gap was over `slowMs`, writes one report on stderr: how
 * long the loop was blocked, by which task, and where.
 *
 * Costs: nothing when `debug` is off (nothing is started). With it on: one interval on each
 * thread, a worker (~10 MB of RSS), and the debugger enabled for our session (which accepts
 * pauses only while it samples, so a `debugger;` statement or another debugger is left alone).
 *
 * Limits: see docs/debug.md ("The blocked-loop detector").
 *
 * @module
 */
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { currentScope } from "./context.js";

/** The sample the monitor took during a stall. */
interface StallSample {
  readonly since: number;
  readonly task: string | undefined;
  readonly frames: readonly string[];
  readonly error?: string;
}

const CURRENT_TASK_HOOK = Symbol.for("trellis.loopMonitor.currentTask");
let hookUsers = 0;

/** Evaluated on the paused main thread: the running task, as `"name" (#id)`, or "". */
function currentTaskForMonitor(): string {
  const task = currentScope()?.task;
  return task === undefined ? "" : `"${task.name}" (#${task.id})`;
}

// The monitor thread. Plain JavaScript in a string (eval worker): no file to locate at runtime.
const MONITOR_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const { Session } = require("node:inspector");
const { heartbeat, slowMs, pollMs, port } = workerData;
const beat = new Float64Array(heartbeat);
const session = new Session();
session.connectToMainThread();
const post = (method, params) => new Promise((resolve, reject) =>
  session.post(method, params || {}, (err, result) => (err ? reject(err) : resolve(result))));
const scripts = new Map();
session.on("Debugger.scriptParsed", (m) => { if (m.params.url) scripts.set(m.params.scriptId, m.params.url); });
let sampledBeat = 0;
let busy = false;
session.on("Debugger.paused", (m) => {
  // A pause we did not ask for (a breakpoint of the user's own debugger) is not ours to resume.
  if (!busy) return;
  const callFrames = m.params.callFrames;
  // Still the same stall? If the main thread had a turn before the pause landed, the frames
  // show unrelated code: the sample is dropped.
  const current = beat[0] === sampledBeat;
  const urlOf = (f) => f.url || scripts.get(f.location.scriptId) || "<anonymous>";
  // The pause may land in Node's internals called by user code (a getter, a builtin): the stack
  // shown starts at the first frame that is not Node's own, and the task is read there too.
  let top = callFrames.findIndex((f) => !urlOf(f).startsWith("node:"));
  if (top < 0) top = 0;
  const frames = callFrames.slice(top, top + 12).map((f) =>
    (f.functionName || "<anonymous>") + " (" + urlOf(f) + ":" + (f.location.lineNumber + 1) + ":" + (f.location.columnNumber + 1) + ")");
  // The sample is posted before the main thread resumes: when its stall check runs, the sample
  // is already in its port. The pause lasts two message rounds, inside a stall already > slowMs.
  const since = sampledBeat;
  post("Debugger.evaluateOnCallFrame", {
    callFrameId: callFrames[top].callFrameId,
    expression: 'globalThis[Symbol.for("trellis.loopMonitor.currentTask")]?.() ?? ""',
    returnByValue: true, silent: true,
  }).then((r) => (r.result && typeof r.result.value === "string" ? r.result.value : ""), () => "")
    .then((task) => {
      if (current) port.postMessage({ since, task, frames });
      return Promise.all([post("Debugger.resume"), post("Debugger.setSkipAllPauses", { skip: true })]);
    })
    .catch(() => {})
    .then(() => { busy = false; });
});
setInterval(() => {
  const last = beat[0];
  // Sampled once the stall is half of slowMs old: the pause must land while it lasts, and on a
  // loaded machine the two threads may each wait for a CPU first. A stall that ends before
  // slowMs costs one short pause and no report.
  if (busy || last === sampledBeat || Date.now() - last < slowMs / 2) return;
  busy = true;
  sampledBeat = last;
  // Our session accepts pauses only for this sample: the rest of the time, a \`debugger;\`
  // statement or an exception does not stop the main thread on our account.
  Promise.all([post("Debugger.setSkipAllPauses", { skip: false }), post("Debugger.pause")]).catch(() => {
    busy = false;
  });
}, pollMs);
// Enabled once, up front: a pause then costs one message, so it lands while the stall lasts.
post("Debugger.enable")
  .then(() => post("Debugger.setSkipAllPauses", { skip: true }))
  .catch(() => {})
  .then(() => parentPort.postMessage("ready"));
`;

/** How long a run waits for the monitor thread to be ready before it starts without it. */
const READY_TIMEOUT_MS = 2_000;

/** @internal A running detector; `stop()` ends its thread and timers. */
export interface LoopMonitor {
  /** Resolves once the monitor can sample (or after {@link READY_TIMEOUT_MS}, if it cannot). */
  readonly ready: Promise<void>;
  /** Resolves once the monitor thread has ended. */
  stop(): Promise<void>;
}

/** @internal Starts the detector for a run; reports go to `write` (stderr). */
export function startLoopMonitor(slowMs: number, write: (text: string) => void): LoopMonitor {
  const intervalMs = Math.max(1, Math.floor(slowMs / 4));
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Float64Array(heartbeat);
  const { port1, port2 } = new MessageChannel();
  let last = (beat[0] = Date.now());
  const samples: StallSample[] = [];

  const drain = (port: MessagePort): void => {
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) samples.push(m.message as StallSample);
  };
  let activity = performance.eventLoopUtilization();
  const check = (now: number): void => {
    const gap = now - last;
    const current = performance.eventLoopUtilization();
    const activeMs = performance.eventLoopUtilization(current, activity).active;
    activity = current;
    // A late timer is not a blocked loop: the thread must have been busy (not waiting for
    // events) for slowMs of the gap. A starved process (a loaded machine) is left out this way.
    if (gap - intervalMs / 2 >= slowMs && activeMs >= slowMs) {
      drain(port1);
      const sample = samples.find((s) => s.since === last);
      write(formatStall(gap - intervalMs / 2, slowMs, sample));
    }
    samples.length = 0;
  };
  const timer = setInterval(() => {
    const now = Date.now();
    check(now);
    last = beat[0] = now;
  }, intervalMs);
  timer.unref();

  if (hookUsers++ === 0) (globalThis as Record<symbol, unknown>)[CURRENT_TASK_HOOK] = currentTaskForMonitor;
  const worker = new Worker(MONITOR_SOURCE, {
    eval: true,
    workerData: { heartbeat, slowMs, pollMs: Math.max(1, Math.min(intervalMs, 10)), port: port2 },
    transferList: [port2],
    // Not the parent's flags: --input-type=module would make this CommonJS source a module.
    execArgv: [],
    stdout: false,
    stderr: false,
  });
  worker.unref();
  // A monitor that fails must not take the run down; it says so once.
  worker.on("error", (err) => write(`trellis: the blocked-loop detector stopped (${String(err)}); the run goes on without it.\n`));
  port1.unref();

  let readyGuard: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(readyGuard);
      worker.removeListener("message", done);
      worker.removeListener("exit", done);
      resolve();
    };
    worker.on("message", done);
    worker.on("exit", done);
    readyGuard = setTimeout(done, READY_TIMEOUT_MS); // ref'd: the run waits for it
  });

  let stopped = false;
  return {
    ready,
    async stop() {
      if (stopped) return;
      stopped = true;
      check(Date.now()); // a stall that ended just now
      clearInterval(timer);
      clearTimeout(readyGuard);
      port1.close();
      if (--hookUsers === 0) delete (globalThis as Record<symbol, unknown>)[CURRENT_TASK_HOOK];
      await worker.terminate();
    },
  };
}

/** The report of one stall. */
export function formatStall(durationMs: number, slowMs: number, sample: StallSample | undefined): string {
  const who =
    sample === undefined
      ? "by code the monitor could not sample"
      : sample.task === undefined || sample.task === ""
        ? "by code running outside any trellis task"
        : `by task ${sample.task}`;
  const lines = [`trellis: the event loop was blocked for ~${Math.round(durationMs)} ms (over slowMs = ${slowMs}) ${who}.`];
  if (sample !== undefined && sample.frames.length > 0) {
    lines.push("  It was running:");
    for (const frame of sample.frames) lines.push(`    at ${frame}`);
  }
  lines.push("  Long synchronous work starves every other task, timer and socket: move it to a worker (trellis/threads) or split it with `await checkpoint()`.");
  return `${lines.join("\n")}\n`;
}
