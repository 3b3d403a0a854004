/**
 * Where a task was spawned, as lines appended to the task chain of an error ("spawned at
 * main (file:///app/server.js:12:5)"). Only the caller's frames count: trellis's own files and
 * Node's internals are left out, so the lines point at user code.
 *
 * @module
 */

/** The folder holding trellis's own modules (dist/ or src/), whose frames are left out. */
const ownFiles = new URL("../", import.meta.url).href;

/**
 * The caller's frames above `above` (up to `limit`), formatted for the task chain, or
 * `undefined` when none is left. Costs one stack trace: callers do it only when asked to
 * (debug mode, supervisors).
 *
 * @internal
 */
export function captureSpawnSite(above: Function, limit = 3): string | undefined {
  const holder: { stack?: string } = {};
  const previousLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = limit + 10; // room for the trellis frames we drop
  try {
    Error.captureStackTrace(holder, above);
  } finally {
    Error.stackTraceLimit = previousLimit;
  }
  const frames = (holder.stack ?? "")
    .split("\n")
    .slice(1)
    .map((line) => line.trim())
    .filter((line) => !line.includes(ownFiles) && !line.includes("(node:") && !line.startsWith("at node:"));
  if (frames.length === 0) return undefined;
  return frames
    .slice(0, limit)
    .map((line) => `      spawned ${line}`)
    .join("\n");
}
