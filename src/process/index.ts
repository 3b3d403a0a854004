// The "trellis/process" entry: re-exports only.
export { runProcess, type ProcessResult } from "./run-process.js";
export { openProcess } from "./open-process.js";
export { ProcessError } from "./process-error.js";
export type { Process } from "./process.js";
export type { ProcessOptions, OpenProcessOptions, RunProcessOptions, StdioMode } from "./options.js";
