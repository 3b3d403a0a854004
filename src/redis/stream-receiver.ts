/**
 * The receiving engine of a Redis channel, shared by a receive handle and its clones: one
 * consumer of the group, one local buffer of entries read and not yet handed out, one queue of
 * waiting receives, one blocking connection, and the deliveries in flight.
 *
 * The fetch loop runs only while receives wait and the buffer is empty. Each turn it first
 * claims, at most every `min(claimIdleMs, blockMs)`, the entries other consumers left pending
 * for `claimIdleMs` (XAUTOCLAIM: their consumer died), then blocks in XREADGROUP for new ones
 * on its own duplicated connection (the user's client stays free for everything else). A
 * cancelled receive leaves the queue at once (the park's abort); when it was the last one, the
 * blocking read is cut short with CLIENT UNBLOCK, and whatever it had read goes to the buffer,
 * so a cancellation loses nothing.
 *
 * A read is handed straight to waiting receives: the waker makes each envelope (one object
 * per value, made from the reply) and wakes its receive with it. A delivery is in flight until
 * `ack()` (XACK, batched per microtask turn into one command, awaited) or until the task that
 * received it ends: its entry then goes back to the front of the local
 * buffer (it is still pending for this consumer; an XCLAIM to ourselves resets its idle time
 * and counts the delivery in Redis). When the last receive handle closes, everything read and
 * not acknowledged is handed back to the group: XCLAIM with a huge IDLE, so that any other
 * consumer's next XAUTOCLAIM takes it at once, instead of after `claimIdleMs`.
 *
 * @module
 */
import {
  BrokenResourceError,
  ClosedResourceError,
  TaskImpl,
  WaitQueue,
  trackResource,
  wake,
  wakeWithError,
  type ScopeNode,
  type AnyParked,
  type TrackedResource,
  type WaitAborter,
} from "../core/index.js";
import type { Envelope } from "../channels/index.js";
import {
  brokenByRedis,
  forEachReadEntry,
  parseAutoClaimReply,
  parsePendingCounts,
  type BlockingConnection,
  type RedisClientLike,
  type StreamEntry,
} from "./redis-client.js";
import { RedisDelivery } from "./redis-delivery.js";
import { AckBatcher } from "./ack-batcher.js";

/** @internal The settings of one channel, validated by openRedisChannel. */
export interface ReceiverSettings<T> {
  readonly client: RedisClientLike;
  readonly key: string;
  readonly group: string;
  readonly consumer: string;
  readonly claimIdleMs: number;
  readonly blockMs: number;
  readonly prefetch: number;
  readonly deadLetterKey: string;
  readonly deserialize: (text: string) => T;
  readonly onInvalid: (report: InvalidEntry) => void;
}

/**
 * An entry of the stream that could not be turned into a value (its `v` field is missing, or
 * `deserialize` threw). It is never delivered: it is copied to the dead-letter stream with the
 * error, then acknowledged, and reported through `onInvalid`.
 *
 * @example
 * ```ts
 * import type { InvalidEntry } from "trellis/redis";
 * const onInvalid = (bad: InvalidEntry) => console.error(`entry ${bad.id} moved to ${bad.movedTo}: ${String(bad.error)}`);
 * ```
 */
export interface InvalidEntry {
  /** The entry's id in the stream. */
  readonly id: string;
  /** Its raw `v` field, or `undefined` if it had none. */
  readonly raw: string | undefined;
  /** What `deserialize` threw (or a `TypeError` for a missing field). */
  readonly error: unknown;
  /** The dead-letter stream it was copied to. */
  readonly movedTo: string;
}

/**
 * @internal What a waiting receive leaves in the queue (the `data` of its wait): the handle it
 * came through, and whether it is a step of `for await` (then it is woken with an iterator
 * result). Made once per handle, so a waiting receive allocates nothing for it, and the
 * waker builds the envelope itself: no reaction after the wake-up.
 */
export interface ReceiveTicket {
  readonly handle: object;
  readonly asStep: boolean;
}

/** An entry that could not be turned into a value: its id, raw field and the error. */
type InvalidRaw = [id: string, raw: string | undefined, error: unknown];

const NEVER_IDLE_ENOUGH = 10_000_000_000; // ms (~115 days): "idle for ever" for XCLAIM's IDLE

/** @internal */
export class StreamReceiver<T> implements WaitAborter {
  readonly buffer: RedisDelivery<T>[] = [];
  readonly waiters = new WaitQueue();
  /** Deliveries in flight: an intrusive list (no allocation per value), and its length. */
  private head: RedisDelivery<T> | undefined = undefined;
  inFlightCount = 0;
  openHandles = 0;
  broken: BrokenResourceError | undefined = undefined;
  private closed = false;
  private fetching = false;
  private groupReady: Promise<void> | undefined = undefined;
  private conn: BlockingConnection | undefined = undefined;
  private connId: string | undefined = undefined;
  private tracked: TrackedResource | undefined = undefined;
  private blocking = false;
  private unblockSent = false;
  /** Set by the first receive: from then on the loop keeps `prefetch` values ready. */
  private receiving = false;
  private claimCursor = "0-0";
  private nextClaimAt = 0;
  private readonly acker: AckBatcher;
  /** Tasks that received from this channel during their current attempt (their hook is set). */
  private readonly hooked = new Set<TaskImpl<unknown>>();

  /** What a waiting receive shows in the task tree. */
  readonly label: string;

  constructor(readonly settings: ReceiverSettings<T>) {
    this.acker = new AckBatcher(settings.client, settings.key, settings.group);
    this.label = `receive on Redis stream "${settings.key}" (group "${settings.group}", consumer "${settings.consumer}")`;
  }

  // ---- receiving ---------------------------------------------------------------------------

  /**
   * The next entry if one is buffered, else undefined; throws if broken. An entry that waited
   * here for half of claimIdleMs is dropped instead: another consumer may claim it any moment
   * (it may be doing so now), and handing it out too would have it done twice. Still pending
   * under us, it comes back through a claim (ours or another's) once idle for claimIdleMs.
   */
  takeBuffered(): RedisDelivery<T> | undefined {
    if (this.broken !== undefined) throw this.broken;
    this.receiving = true;
    const staleBefore = Date.now() - this.settings.claimIdleMs / 2;
    let p = this.buffer.shift();
    while (p !== undefined && p.readAt < staleBefore) p = this.buffer.shift();
    if (p !== undefined && !this.fetching) this.kick(); // keep `prefetch` values ready
    return p;
  }

  /**
   * Starts the fetch loop if it has something to do: receives wait, or (once this consumer has
   * started receiving) it holds no more than half of `prefetch` values — read ahead or in
   * flight — so the next batch is read while the current one is being worked on and
   * acknowledged. Half, not "fewer than prefetch": topping up after every receive would read
   * one or two entries per XREADGROUP (a round trip and a reply each), where waiting for half
   * the window to empty reads at least `prefetch / 2` at a time.
   */
  kick(): void {
    if (!this.fetching && this.wantsMore()) void this.fetchLoop();
  }

  private wantsMore(): boolean {
    if (this.closed || this.broken !== undefined) return false;
    if (this.waiters.length > 0) return true;
    // prefetch 1 (the default) reads on demand only: nothing waits here unasked for.
    const prefetch = this.settings.prefetch;
    return prefetch > 1 && this.receiving && (this.buffer.length + this.inFlightCount) * 2 <= prefetch;
  }

  /**
   * Parks the caller (in `scope`, the current one) until an entry comes, and returns its
   * envelope (or, for a `for await` step, the iterator result): the waker makes them (see
   * dispatch). Starts the fetch loop if needed.
   */
  waitForEntry(ticket: ReceiveTicket, scope: ScopeNode | undefined): Promise<Envelope<T> | IteratorResult<Envelope<T>, undefined>> {
    const promise = this.waiters.park<Envelope<T> | IteratorResult<Envelope<T>, undefined>>(this.label, ticket, scope, this);
    this.receiving = true;
    if (!this.fetching) void this.fetchLoop();
    return promise;
  }

  /** The abort of a waiting receive: leave the queue; the last one out unblocks the read. */
  abortWait(parked: AnyParked): boolean {
    this.waiters.remove(parked);
    if (this.waiters.length === 0) this.unblock();
    return true;
  }

  /** Buffers `entries` and hands them to the waiting receives, first come first served; → how many were handed out. */
  private dispatch(entries: RedisDelivery<T>[], front = false): number {
    if (front) this.buffer.unshift(...entries);
    else for (const p of entries) this.buffer.push(p);
    let woken = 0;
    for (let w = this.waiters.first(); w !== undefined && this.buffer.length > 0; w = this.waiters.first()) {
      // Out of the queue before the delivery is made: deliver() may hand a value back, which
      // dispatches again, and must not find this waiter still there.
      this.waiters.remove(w);
      const ticket = w.data as ReceiveTicket;
      const d = this.deliver(this.buffer.shift()!, ticket.handle, w.task);
      wake(w, ticket.asStep ? { done: false, value: d } : d);
      woken++;
    }
    return woken;
  }

  private async fetchLoop(): Promise<void> {
    this.fetching = true;
    const s = this.settings;
    try {
      await (this.groupReady ??= this.createGroup());
      let handedOut = false;
      while (this.wantsMore()) {
        if (Date.now() >= this.nextClaimAt) {
          const claimed = await this.claimAbandoned();
          if (this.closed) this.handBack(claimed.map((e) => e.id));
          else if (claimed.length > 0) {
            this.dispatch(claimed);
            continue;
          }
        }
        if (handedOut) {
          // The last read drained the stream (it returned fewer entries than asked for) and was
          // handed to waiting receives: let their tasks run (their wake-ups come before this
          // loop's next step) and acknowledge, and wait for the reply to the XACK that sends
          // those acknowledgements, before the next read. A hand-written consumer loop reads, acks, then reads again;
          // reading again at once instead, while values trickle in, reads one or two entries
          // per XREADGROUP (a command, a reply and a wake-up each) where the round trip of the
          // XACK lets a batch gather. A full read (a backlog: more is waiting) is followed by
          // the next at once, and a read ahead (no receive waiting) is not held back.
          // Precondition: the XACK's reply comes (or fails) within a round trip — the client
          // is not held up by a blocking command of the caller's own (BLPOP on the same client
          // would hold up the acknowledgements as well: docs/distributed.md says to give those
          // a client of their own). Exercised by test/redis/redis-channel-batching.prop.test.ts.
          handedOut = false;
          await undefined;
          await this.acker.replied();
          if (!this.wantsMore()) break;
        }
        const conn = this.conn ?? (await this.connection());
        if (!this.wantsMore()) break;
        const count = Math.max(s.prefetch - this.buffer.length - this.inFlightCount, this.waiters.length, 1);
        // A read for waiting receives keeps the process alive; a read ahead does not.
        const waited = this.waiters.length > 0;
        this.blocking = true;
        this.unblockSent = false;
        if (waited) conn.ref?.();
        let reply: unknown;
        try {
          reply = await conn.sendCommand([
            "XREADGROUP", "GROUP", s.group, s.consumer, "COUNT", String(count), "BLOCK", String(s.blockMs),
            "STREAMS", s.key, ">",
          ]);
        } finally {
          this.blocking = false;
          if (waited) conn.unref?.();
        }
        const decoded = this.decodeRead(reply);
        const entries = Array.isArray(decoded) ? decoded : await decoded;
        // Read but closed meanwhile: hand them back to the group rather than drop them.
        if (this.closed) this.handBack(entries.map((e) => e.id));
        // Fewer entries than asked for: the stream is drained, and values trickle in (see above).
        else handedOut = this.dispatch(entries) > 0 && entries.length < count;
      }
    } catch (err) {
      if (!this.closed) this.breakWith(brokenByRedis("RedisReceiveChannel.receive()", s.key, err));
    } finally {
      this.fetching = false;
      if (this.closed) this.dropConnection(); // close() left it to us (see there)
    }
    // A receive may have parked between the loop's last check and here.
    if (this.waiters.length > 0) this.kick();
  }

  private async createGroup(): Promise<void> {
    const s = this.settings;
    try {
      // From id 0: values sent before any receiver existed are delivered too.
      await s.client.sendCommand(["XGROUP", "CREATE", s.key, s.group, "0", "MKSTREAM"]);
    } catch (err) {
      if (!(err instanceof Error && /BUSYGROUP/.test(err.message))) throw err;
    }
  }

  /** XAUTOCLAIM of entries idle for claimIdleMs (a dead consumer's), with their delivery counts. */
  private async claimAbandoned(): Promise<RedisDelivery<T>[]> {
    const s = this.settings;
    const reply = await s.client.sendCommand([
      "XAUTOCLAIM", s.key, s.group, s.consumer, String(s.claimIdleMs), this.claimCursor, "COUNT", String(Math.max(s.prefetch, 16)),
    ]);
    const { cursor, entries: claimed } = parseAutoClaimReply(reply);
    this.claimCursor = cursor;
    if (cursor === "0-0") this.nextClaimAt = Date.now() + Math.min(s.claimIdleMs, s.blockMs);
    // Our own entries idle that long (a slow task, a buffer nobody read) are claimed back to
    // us too: they are already here, and must not be handed out a second time.
    const here = new Set(this.buffer.map((p) => p.id));
    for (const d of this.held(() => true)) here.add(d.id);
    const entries = claimed.filter((e) => !here.has(e.id));
    if (entries.length === 0) return [];
    const counts = parsePendingCounts(
      await s.client.sendCommand(["XPENDING", s.key, s.group, entries[0]!.id, entries[entries.length - 1]!.id, String(entries.length), s.consumer]),
    );
    return this.decode(entries, counts);
  }

  /**
   * The entries of an XREADGROUP reply → values, straight from the reply (no object per entry
   * but the value's own). Those that cannot be deserialized are moved aside and reported
   * first: then (only then) the result is a promise.
   */
  private decodeRead(reply: unknown): RedisDelivery<T>[] | Promise<RedisDelivery<T>[]> {
    const out: RedisDelivery<T>[] = [];
    let invalid: InvalidRaw[] | undefined;
    const readAt = Date.now();
    const deserialize = this.settings.deserialize;
    forEachReadEntry(reply, (id, raw) => {
      try {
        if (raw === undefined) throw missingField(id);
        out.push(new RedisDelivery(this, id, deserialize(raw), 1, readAt));
      } catch (error) {
        (invalid ??= []).push([id, raw, error]);
      }
    });
    return invalid === undefined ? out : this.moveAllAside(invalid).then(() => out);
  }

  /** Claimed entries → values, with their delivery counts (as {@link decodeRead}). */
  private async decode(entries: StreamEntry[], counts: Map<string, number>): Promise<RedisDelivery<T>[]> {
    const out: RedisDelivery<T>[] = [];
    const invalid: InvalidRaw[] = [];
    const readAt = Date.now();
    for (const { id, v: raw } of entries) {
      try {
        if (raw === undefined) throw missingField(id);
        out.push(new RedisDelivery(this, id, this.settings.deserialize(raw), counts.get(id) ?? 1, readAt));
      } catch (error) {
        invalid.push([id, raw, error]);
      }
    }
    await this.moveAllAside(invalid);
    return out;
  }

  private async moveAllAside(invalid: InvalidRaw[]): Promise<void> {
    for (const [id, raw, error] of invalid) await this.moveAside(id, raw, error);
  }

  private async moveAside(id: string, raw: string | undefined, error: unknown): Promise<void> {
    const s = this.settings;
    const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // Copied first, acknowledged second: a crash in between copies it twice, never loses it.
    await s.client.sendCommand(["XADD", s.deadLetterKey, "*", "id", id, "v", raw ?? "", "error", why, "stream", s.key, "group", s.group]);
    await s.client.sendCommand(["XACK", s.key, s.group, id]);
    try {
      s.onInvalid({ id, raw, error, movedTo: s.deadLetterKey });
    } catch (err) {
      queueMicrotask(() => {
        throw err; // a throwing reporter is a bug of the caller's: let it surface, as an uncaught error
      });
    }
  }

  /** The blocking connection, made on first use: a duplicate that never reconnects by itself. */
  private async connection(): Promise<BlockingConnection> {
    if (this.conn !== undefined) return this.conn;
    const client = this.settings.client;
    const socket = { ...(client.options?.socket ?? {}), reconnectStrategy: false };
    const conn = client.duplicate({ socket }) as BlockingConnection;
    // One listener for the connection's life: a lost connection must not crash the process;
    // the failed command tells the loop.
    conn.on("error", () => {});
    this.tracked = trackResource(this, "Redis connection", `blocking reads of stream "${this.settings.key}"`, () => closeConnection(conn));
    this.conn = conn;
    await conn.connect();
    this.connId = String(await conn.sendCommand(["CLIENT", "ID"]));
    conn.unref?.();
    return conn;
  }

  /** Cuts a blocking read short (it then returns what it has, or nothing). */
  private unblock(): void {
    if (!this.blocking || this.unblockSent || this.connId === undefined) return;
    this.unblockSent = true;
    this.settings.client.sendCommand(["CLIENT", "UNBLOCK", this.connId]).catch(ignore);
  }

  private breakWith(error: BrokenResourceError): void {
    this.broken = error;
    this.waiters.breakAll(() => error);
    this.dropConnection();
  }

  private dropConnection(): void {
    const conn = this.conn;
    this.conn = undefined;
    this.connId = undefined;
    this.tracked?.untrack();
    this.tracked = undefined;
    if (conn !== undefined) closeConnection(conn);
  }

  // ---- deliveries ----------------------------------------------------------------------------

  /** Hands `d`, just taken from the buffer, out to `task` (undefined: code outside any task) through handle `owner`: in flight from now. */
  deliver(d: RedisDelivery<T>, owner: object, task: TaskImpl<unknown> | undefined): RedisDelivery<T> {
    d.handOut(owner, task);
    // Link at the head of the list of deliveries in flight.
    const head = this.head;
    d.next = head;
    if (head !== undefined) head.prev = d;
    this.head = d;
    this.inFlightCount++;
    if (task !== undefined) {
      if (task.state !== "running") this.giveBack([d]);
      else if (!this.hooked.has(task)) {
        // One hook per task and attempt: a worker takes value after value.
        this.hooked.add(task);
        (task.attemptHooks ??= new Set()).add(() => {
          this.hooked.delete(task);
          this.giveBack(this.held((d) => d.task === task));
        });
      }
    }
    return d;
  }

  /** @internal `d` left flight (acknowledged or given back): unlink it. */
  left(d: RedisDelivery<T>): void {
    const { prev, next } = d;
    if (prev !== undefined) prev.next = next;
    else if (this.head === d) this.head = next;
    if (next !== undefined) next.prev = prev;
    d.prev = d.next = undefined;
    this.inFlightCount--;
  }

  /** The deliveries in flight that `mine` selects. */
  held(mine: (d: RedisDelivery<T>) => boolean): RedisDelivery<T>[] {
    const out: RedisDelivery<T>[] = [];
    for (let d = this.head; d !== undefined; d = d.next) if (mine(d)) out.push(d);
    return out;
  }

  /**
   * Values whose holder ended unacknowledged: back to the front of the local buffer, earliest
   * first (XCLAIM to ourselves resets their idle time and counts the delivery in Redis); with
   * no receive handle open, back to the group.
   */
  giveBack(deliveries: Iterable<RedisDelivery<T>>): void {
    const back = [...deliveries].filter((d) => d.giveBack());
    if (back.length === 0) return;
    back.sort((a, b) => compareIds(a.id, b.id));
    const ids = back.map((d) => d.id);
    if (this.closed) {
      this.handBack(ids);
      return;
    }
    const s = this.settings;
    // Not JUSTID: that would leave Redis's delivery count as it was.
    s.client.sendCommand(["XCLAIM", s.key, s.group, s.consumer, "0", ...ids]).catch(ignore);
    const now = Date.now();
    // New envelopes: the old ones stay "returned" (their ack() throws).
    this.dispatch(back.map((d) => new RedisDelivery(this, d.id, d.value, d.deliveries + 1, now)), true);
  }

  /** Ids pending for this consumer → claimable at once by any other consumer of the group. */
  private handBack(ids: string[]): void {
    if (ids.length === 0) return;
    const s = this.settings;
    s.client
      .sendCommand(["XCLAIM", s.key, s.group, s.consumer, "0", ...ids, "IDLE", String(NEVER_IDLE_ENOUGH), "JUSTID"])
      .catch(ignore); // unreachable Redis: they stay pending here and are claimed after claimIdleMs
  }

  /** Queues an XACK of `id` (see ack-batcher.ts); the delivery waits on the batch returned. */
  ack(id: string): WaitQueue {
    return this.acker.ack(id);
  }

  /** Waits, as a checkpoint, for the reply to the XACK of `batch`. */
  waitForAck(batch: WaitQueue, scope: ScopeNode | undefined): Promise<void> {
    return this.acker.wait(batch, scope);
  }

  // ---- closing -------------------------------------------------------------------------------

  /** A receive handle closed: its own waiting receives fail with ClosedResourceError. */
  closeHandle(handle: object): void {
    const own: AnyParked[] = [];
    for (const parked of this.waiters) if ((parked.data as ReceiveTicket).handle === handle) own.push(parked);
    for (const parked of own) {
      this.waiters.remove(parked);
      wakeWithError(parked, closedReceiver("RedisReceiveChannel.receive()"));
    }
    if (--this.openHandles === 0) this.close();
    else if (this.waiters.length === 0) this.unblock();
  }

  /** The last receive handle closed: hand everything back, stop reading, close the connection. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const ids = this.buffer.map((p) => p.id);
    this.buffer.length = 0;
    for (const d of this.held(() => true)) if (d.giveBack()) ids.push(d.id);
    this.handBack(ids.sort(compareIds));
    // A read on the wire may already have taken entries: Redis counts them as ours. Cut it
    // short and let the loop hand back what it returns, then close the connection; closing it
    // now would leave those entries pending here until claimIdleMs.
    if (this.blocking) this.unblock();
    else this.dropConnection();
  }

  statistics(): { buffered: number; waiting: number; inFlight: number } {
    return { buffered: this.buffer.length, waiting: this.waiters.length, inFlight: this.inFlightCount };
  }
}

/** Stream ids "ms-seq" in order. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-");
  const [bm, bs] = b.split("-");
  return Number(am) - Number(bm) || Number(as) - Number(bs);
}

function closeConnection(conn: BlockingConnection): void {
  try {
    if (typeof conn.destroy === "function") conn.destroy();
    else conn.disconnect?.().catch(ignore);
  } catch {
    // already closed
  }
}

function ignore(): void {}

function missingField(id: string): TypeError {
  return new TypeError(`entry ${id} has no "v" field: it was not written by a trellis channel`);
}

/** @internal */
export function closedReceiver(where: string): ClosedResourceError {
  return new ClosedResourceError(
    `${where}: this receive handle is closed (by its close(), or at the end of its \`using\` block); use a handle that is still open, or clone() this one before closing it`,
  );
}
