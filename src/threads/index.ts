// The "trellis/threads" entry: re-exports only. The same import works in the main thread
// (WorkerPool) and inside a pool's worker (callMain, callMainSync, isWorker, checkpointIfCancelled).
export {
  WorkerPool,
  withWorkerPool,
  type WorkerPoolOptions,
  type RunOptions,
  type CancelMode,
  type WorkerPoolStatistics,
  type WorkerFunction,
  type UntypedWorkerModule,
  type ExportName,
  type ExportArgs,
  type ExportResult,
  type BoundPool,
} from "./worker-pool.js";
export { callMain, callMainSync, isWorker } from "./worker-side.js";
export { checkpointIfCancelled, checkpoint } from "../core/index.js";
