/**
 * Follows the change-event log and delivers every committed event exactly once, in id order within
 * each delivery — the reader a server uses to push changes to its agents.
 *
 * Why not just "read ids above the last one seen": on PostgreSQL an id is drawn when the row is
 * inserted but becomes visible only at COMMIT, and transactions commit in any order. The tail can
 * see id 12 while 10 and 11 are still in flight; if it moved its cursor to 12 they would never be
 * delivered. So ids missing below the highest seen are held open as gaps and looked for again, on
 * every wake-up and on a short timer, until they appear (delivered then, after 12 — hence "in id
 * order per delivery", not overall) or `gapTimeoutMs` passes: a rolled-back transaction's ids never
 * appear, and a gap is then given up and reported as 'skipped' (a server should reload fully if a
 * real transaction outlived the timeout). `lastId` only moves past ids that are resolved, so it is
 * always a safe point to resume from.
 *
 * At start it also looks `lookback` ids below `fromId`: ids missing there, above the oldest present,
 * may be transactions still in flight when the caller took `fromId`, and are held as gaps too.
 * Create the tail before loading the state it updates, so that anything the load missed arrives.
 */
import { EventEmitter } from 'node:events';
import { messageOf } from '../../spiffe/errors.js';
import type { EventStore } from './datastore.js';
import { type DatastoreLogger, silentLogger } from './options.js';
import type { ChangeEvent } from './types.js';

export interface EventTailOptions {
  /** Deliver events with ids above this: the last id the caller's state already reflects. */
  fromId: number;
  /** How long a missing id is waited for before it is given up, in ms (default 60 000). */
  gapTimeoutMs?: number;
  /** How often open gaps are looked for when nothing else wakes the tail, in ms (default 250). */
  gapRecheckMs?: number;
  /** How many ids below fromId to check at start for transactions still in flight (default 10 000; 0: none). */
  lookback?: number;
  /** Events read per query (default 1000). */
  batchSize?: number;
  logger?: DatastoreLogger;
  /** Milliseconds now; tests replace it. */
  now?: () => number;
}

export interface EventTailEvents {
  /** New events, sorted by id; each event is delivered once. */
  events: [events: ChangeEvent[]];
  /** Ids given up on after gapTimeoutMs: rolled back, or their transaction ran too long. */
  skipped: [ids: number[]];
  /** Reading the log failed; the tail keeps trying. Without a listener it is logged instead. */
  error: [err: unknown];
}

/** At most this many range queries per gap recheck; farther-apart gaps are read in one wider range. */
const MAX_GAP_RANGES = 8;

export class EventTail extends EventEmitter<EventTailEvents> {
  readonly #store: EventStore;
  readonly #opts: Required<Omit<EventTailOptions, 'fromId'>>;
  /** Every id at or below is delivered, skipped, or was already reflected by the caller. */
  #cursor: number;
  /** The highest id seen; ids in (cursor, high] are in #done or #gaps. */
  #high: number;
  readonly #done = new Set<number>();
  /** Missing id → when it was first noticed missing. */
  readonly #gaps = new Map<number, number>();
  readonly #unsubscribe: () => void;
  #started = false;
  #running = false;
  #again = false;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(store: EventStore, options: EventTailOptions) {
    super();
    this.#store = store;
    this.#cursor = options.fromId;
    this.#high = options.fromId;
    this.#opts = {
      gapTimeoutMs: options.gapTimeoutMs ?? 60_000,
      gapRecheckMs: options.gapRecheckMs ?? 250,
      lookback: options.lookback ?? 10_000,
      batchSize: options.batchSize ?? 1000,
      logger: options.logger ?? silentLogger,
      now: options.now ?? Date.now,
    };
    this.#unsubscribe = store.onChange(() => this.wake());
    // After the caller's synchronous on('events', …), so the first delivery has a listener.
    queueMicrotask(() => this.wake());
  }

  /** A safe id to resume from later: everything at or below it has been handled. */
  get lastId(): number {
    return this.#cursor;
  }

  /** Ids currently held open, oldest first. */
  get gaps(): number[] {
    return [...this.#gaps.keys()].sort((a, b) => a - b);
  }

  /** Reads the log now (it also reads on every change notification and while gaps are open). */
  wake(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = true;
    void this.#pump();
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #pump(): Promise<void> {
    let failed = false;
    do {
      this.#again = false;
      try {
        if (!this.#started) {
          await this.#lookBack();
          this.#started = true;
        }
        const found = [...(await this.#readGaps()), ...(await this.#readNew())].sort((a, b) => a.id - b.id);
        const skipped = this.#advance();
        if (this.#closed) break;
        if (found.length > 0) this.emit('events', found);
        if (skipped.length > 0) {
          this.#opts.logger.warn(`datastore: event ids ${skipped.join(', ')} never committed within ${this.#opts.gapTimeoutMs} ms; giving up on them`);
          this.emit('skipped', skipped);
        }
      } catch (err) {
        failed = true;
        if (this.listenerCount('error') > 0) this.emit('error', err);
        else this.#opts.logger.warn(`datastore: reading the change log failed: ${messageOf(err)}`);
      }
    } while (this.#again && !this.#closed && !failed);
    this.#running = false;
    this.#schedule(failed);
  }

  /** Marks what is already below fromId, and holds the holes above the oldest of it as gaps. */
  async #lookBack(): Promise<void> {
    const from = this.#cursor;
    if (this.#opts.lookback <= 0 || from <= 0) return;
    const present: number[] = [];
    for (let after = Math.max(0, from - this.#opts.lookback); ; ) {
      const rows = await this.#store.since(after, this.#opts.batchSize);
      const below = rows.filter((r) => r.id <= from);
      present.push(...below.map((r) => r.id));
      if (below.length < rows.length || rows.length < this.#opts.batchSize) break;
      after = rows[rows.length - 1]!.id;
    }
    if (present.length === 0) return;
    const noticed = this.#opts.now();
    this.#cursor = present[0]!;
    for (const id of present) this.#done.add(id);
    for (let id = this.#cursor + 1; id <= from; id++) if (!this.#done.has(id)) this.#gaps.set(id, noticed);
    this.#advance();
  }

  async #readNew(): Promise<ChangeEvent[]> {
    const found: ChangeEvent[] = [];
    for (;;) {
      const rows = await this.#store.since(this.#high, this.#opts.batchSize);
      const noticed = this.#opts.now();
      for (const row of rows) {
        for (let id = this.#high + 1; id < row.id; id++) this.#gaps.set(id, noticed);
        this.#high = row.id;
        this.#done.add(row.id);
        found.push(row);
      }
      if (rows.length < this.#opts.batchSize) return found;
    }
  }

  async #readGaps(): Promise<ChangeEvent[]> {
    const found: ChangeEvent[] = [];
    for (const [first, last] of gapRanges(this.gaps)) {
      const rows = await this.#store.since(first - 1, last - first + 1);
      for (const row of rows) {
        if (row.id > last || !this.#gaps.has(row.id)) continue;
        this.#gaps.delete(row.id);
        this.#done.add(row.id);
        found.push(row);
      }
    }
    return found;
  }

  /** Moves the cursor over resolved ids, giving up on gaps older than the timeout; returns those. */
  #advance(): number[] {
    const skipped: number[] = [];
    const expired = this.#opts.now() - this.#opts.gapTimeoutMs;
    for (const [id, noticed] of this.#gaps) {
      if (noticed <= expired) {
        this.#gaps.delete(id);
        this.#done.add(id);
        skipped.push(id);
      }
    }
    while (this.#cursor < this.#high && this.#done.delete(this.#cursor + 1)) this.#cursor++;
    return skipped.sort((a, b) => a - b);
  }

  #schedule(failed: boolean): void {
    if (this.#closed || this.#timer || (this.#gaps.size === 0 && !failed)) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.wake();
    }, failed ? Math.max(1000, this.#opts.gapRecheckMs) : this.#opts.gapRecheckMs);
    this.#timer.unref();
  }
}

/** Sorted gap ids as at most MAX_GAP_RANGES [first, last] ranges, merging the closest neighbours. */
export function gapRanges(ids: readonly number[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const id of ids) {
    const last = ranges[ranges.length - 1];
    if (last && id === last[1] + 1) last[1] = id;
    else ranges.push([id, id]);
  }
  while (ranges.length > MAX_GAP_RANGES) {
    let best = 0;
    for (let i = 1; i < ranges.length - 1; i++) {
      if (ranges[i + 1]![0] - ranges[i]![1] < ranges[best + 1]![0] - ranges[best]![1]) best = i;
    }
    ranges.splice(best, 2, [ranges[best]![0], ranges[best + 1]![1]]);
  }
  return ranges;
}
