// The plain worker_threads version of crunchAndSave (seed 002 "threads" scenario): nothing
// tells it that the caller gave up.
import { parentPort, receiveMessageOnPort } from "node:worker_threads";

function spin(ms) {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

parentPort.on("message", ({ ms, reply }) => {
  const started = performance.now();
  spin(ms);
  // Ask the main thread to save, and block until it answers (as trio.from_thread.run does).
  const flag = new Int32Array(new SharedArrayBuffer(4));
  parentPort.postMessage({ save: "half-way", flag });
  Atomics.wait(flag, 0, 0);
  receiveMessageOnPort(reply);
  spin(ms);
  parentPort.postMessage({ done: performance.now() - started });
});
