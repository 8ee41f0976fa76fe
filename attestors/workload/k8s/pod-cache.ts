/**
 * The pod list shared by every caller: at most one /pods request in flight, whose answer all
 * waiting callers get, and that answer reused for a short while. A hundred workloads starting at
 * once cost the kubelet one request, not a hundred (SPIRE's versioned cache does the same).
 * A failed fetch is not cached: the next caller asks again.
 */
import type { PodIndex } from './pod-list.js';

export interface PodListSnapshot {
  index: PodIndex;
  /** When the request that produced it was sent (ms, the cache's clock). */
  requestedAt: number;
  /** Increases with every successful fetch. */
  generation: number;
}

export class PodListCache {
  #current: PodListSnapshot | undefined;
  #inflight: Promise<PodListSnapshot> | undefined;
  #generation = 0;

  constructor(
    readonly fetch: () => Promise<PodIndex>,
    readonly ttlMs: number,
    readonly now: () => number = () => performance.now(),
  ) {}

  /** The cached list while it is younger than the TTL, else the in-flight or a new request's. */
  get(): Promise<PodListSnapshot> {
    const c = this.#current;
    if (c !== undefined && this.now() - c.requestedAt < this.ttlMs) return Promise.resolve(c);
    return this.#fetchShared();
  }

  /**
   * A list requested after `seen` was: the caller looked for its container in `seen` and did not
   * find it. Only one request runs at a time, so one in flight now was sent after `seen` arrived.
   */
  newerThan(seen: PodListSnapshot): Promise<PodListSnapshot> {
    const c = this.#current;
    if (c !== undefined && c.generation > seen.generation) return Promise.resolve(c);
    return this.#fetchShared();
  }

  #fetchShared(): Promise<PodListSnapshot> {
    if (this.#inflight !== undefined) return this.#inflight;
    const requestedAt = this.now();
    const p = this.fetch().then(
      (index) => {
        const snap = { index, requestedAt, generation: ++this.#generation };
        this.#current = snap;
        return snap;
      },
    );
    this.#inflight = p;
    // Cleared on either outcome; the callers awaiting `p` see its rejection themselves.
    p.finally(() => {
      if (this.#inflight === p) this.#inflight = undefined;
    }).catch(() => undefined);
    return p;
  }
}
