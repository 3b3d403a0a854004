/**
 * Where a task was spawned, as lines appended to the task chain of an error ("spawned at
 * main (file:///app/server.js:12:5)"). Only the caller's frames count: trellis's own files and
 * Node's internals are left out, so the lines point at user code.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/**
 * The places of trellis's own modules, whose frames are left out: the package's `dist/` and,
 * for frames that source maps (`--enable-source-maps`) point back at the TypeScript, its `src/`,
 * each as a file URL and as a path. Found from this module's own location, never by looking
 * for "dist/" in a path (the user's own code may live in a `dist/` of its own).
 */
const ownFiles: readonly string[] = (() => {
  const root = new URL("../../", import.meta.url);
  const places: string[] = [];
  for (const folder of ["dist/", "src/"]) {
    const url = new URL(folder, root);
    places.push(url.href);
    try {
      places.push(fileURLToPath(url));
    } catch {
      // Not a file: URL (a bundle): the URL form is all there is.
    }
  }
  return places;
})();

function isOwnFrame(line: string): boolean {
  for (const place of ownFiles) if (line.includes(place)) return true;
  return false;
}

/**
 * The caller's frames above `above` (up to `limit`), formatted for the task chain, or
 * `undefined` when none is left. Costs one stack trace: callers do it only when asked to
 * (debug mode, supervisors).
 *
 * @internal
 */
export function captureSpawnSite(above: Function, limit = 3, verb = "spawned"): string | undefined {
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
    .filter((line) => !isOwnFrame(line) && !line.includes("(node:") && !line.startsWith("at node:"));
  if (frames.length === 0) return undefined;
  return frames
    .slice(0, limit)
    .map((line) => `      ${verb} ${line}`)
    .join("\n");
}
