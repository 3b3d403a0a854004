// The `trellis/debug` entry: re-exports only.
export { taskTree, formatTaskTree, type TaskTree, type TaskSnapshot, type ScopeSnapshot } from "../core/index.js";
export { serveTaskTree, type ServeTaskTreeOptions, type TaskTreeAddress } from "./serve-task-tree.js";
