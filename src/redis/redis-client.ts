/**
 * The little of a node-redis client that trellis uses, as a structural type (so the core and
 * the published types do not depend on the `redis` package, an optional peer dependency), and
 * the parsing of the raw RESP2/RESP3 replies of the stream commands.
 *
 * Every command goes through `sendCommand` with raw arguments: the replies' shape is then the
 * server's, the same in node-redis 4, 5 and 6, whatever their per-command transformations.
 *
 * @module
 */
import { BrokenResourceError } from "../core/index.js";

/**
 * What `openRedisChannel` needs of the `client` you pass: a connected node-redis client (from
 * `createClient()` of the `redis` package, versions 4.6 to 6). Only these members are used.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import type { RedisClientLike } from "trellis/redis";
 * const client: RedisClientLike = await createClient({ url: "redis://127.0.0.1:6379" }).connect();
 * ```
 */
export interface RedisClientLike {
  /** Sends one command with raw arguments, resolving with the server's reply. */
  sendCommand(args: string[]): Promise<unknown>;
  /** A new, unconnected client with the same options (merged with `overrides`). */
  duplicate(overrides?: object): unknown;
  /** The options the client was made with (node-redis exposes them as a getter). */
  readonly options?: { readonly socket?: object } | undefined;
}

/** @internal The duplicated connection a receiver blocks on (node-redis 4 to 6). */
export interface BlockingConnection {
  connect(): Promise<unknown>;
  sendCommand(args: string[]): Promise<unknown>;
  on(event: "error", listener: (err: unknown) => void): unknown;
  destroy?(): void;
  disconnect?(): Promise<void>;
  ref?(): void;
  unref?(): void;
}

/** @internal One stream entry: its id and its `v` field (undefined when it has none). */
export interface StreamEntry {
  readonly id: string;
  readonly v: string | undefined;
}

/**
 * @internal Calls `visit(id, v)` for each entry of the reply of XREADGROUP (RESP2 nested
 * arrays, or a RESP3 map), in order, without building an object per entry: the hot path of
 * a receiver, which turns each entry straight into a value.
 */
export function forEachReadEntry(reply: unknown, visit: (id: string, v: string | undefined) => void): void {
  if (reply === null || reply === undefined) return;
  if (Array.isArray(reply)) {
    for (const s of reply) visitEntries(Array.isArray(s) ? s[1] : (s as { messages?: unknown } | null)?.messages, visit);
  } else if (reply instanceof Map) {
    for (const entries of reply.values()) visitEntries(entries, visit);
  } else if (typeof reply === "object") {
    for (const entries of Object.values(reply as object)) visitEntries(entries, visit);
  }
}

/** @internal Entries of the reply of XREADGROUP, as objects (see {@link forEachReadEntry}). */
export function parseReadReply(reply: unknown): StreamEntry[] {
  const out: StreamEntry[] = [];
  forEachReadEntry(reply, (id, v) => out.push({ id, v }));
  return out;
}

/** @internal XAUTOCLAIM's reply: the next cursor and the entries claimed. */
export function parseAutoClaimReply(reply: unknown): { cursor: string; entries: StreamEntry[] } {
  if (!Array.isArray(reply)) return { cursor: "0-0", entries: [] };
  const out: StreamEntry[] = [];
  visitEntries(reply[1], (id, v) => out.push({ id, v }));
  return { cursor: String(reply[0]), entries: out };
}

/** @internal XPENDING's extended reply: id → delivery count. */
export function parsePendingCounts(reply: unknown): Map<string, number> {
  const counts = new Map<string, number>();
  if (Array.isArray(reply)) {
    for (const row of reply) if (Array.isArray(row)) counts.set(String(row[0]), Number(row[3]));
  }
  return counts;
}

function visitEntries(entries: unknown, visit: (id: string, v: string | undefined) => void): void {
  if (!Array.isArray(entries)) return;
  for (const e of entries) {
    // An entry deleted while pending comes back as [id, null]: nothing to deliver.
    if (!Array.isArray(e) || e.length < 2) continue;
    const raw: unknown = e[1];
    if (raw === null) continue;
    let v: string | undefined;
    if (Array.isArray(raw)) {
      for (let i = 0; i + 1 < raw.length; i += 2) if (String(raw[i]) === "v") v = String(raw[i + 1]);
    } else if (raw instanceof Map) {
      for (const [k, value] of raw) if (String(k) === "v") v = String(value);
    } else if (typeof raw === "object") {
      const value = (raw as Record<string, unknown>)["v"];
      if (value !== undefined) v = String(value);
    }
    visit(String(e[0]), v);
  }
}

/** @internal A Redis failure as the channel reports it: what happened, and what to do. */
export function brokenByRedis(where: string, key: string, err: unknown, detail?: string): BrokenResourceError {
  const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  let advice = "check that Redis is reachable, then open a new channel";
  if (/NOGROUP/.test(why)) {
    advice =
      "the stream or its consumer group no longer exists (Redis restarted without persistence, or the key was deleted); open a new channel to create them again";
  }
  return new BrokenResourceError(`${where}: Redis stream "${key}" failed (${why})${detail === undefined ? "" : `; ${detail}`}; ${advice}`, { cause: err });
}
