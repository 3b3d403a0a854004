// The script every pool worker thread starts with (not exported): it serves calls on
// `parentPort`. The user's module is loaded from there and imports "trellis/threads" itself.
import { parentPort, workerData } from "node:worker_threads";
import type { WorkerBoot } from "./protocol.js";
import { serveCalls } from "./worker-runtime.js";

if (parentPort !== null) await serveCalls(workerData as WorkerBoot, parentPort);
