/**
 * Which entries a caller may have: those whose every selector is among the caller's. Entries are
 * indexed by each of their selectors, so a lookup walks only the posting lists of the caller's own
 * selectors and counts hits per entry; an entry matches when all its distinct selectors were hit.
 * Cost: the sum of those lists' lengths, independent of how many entries the agent holds.
 */
import { selectorKey } from './entry.js';
import type { Selector } from './workload-view.js';

export class SelectorIndex {
  readonly #postings = new Map<string, Set<string>>();
  /** Entry id → its distinct selector keys. */
  readonly #entries = new Map<string, readonly string[]>();

  get size(): number {
    return this.#entries.size;
  }

  set(entryId: string, selectors: readonly Selector[]): void {
    this.delete(entryId);
    const keys = [...new Set(selectors.map(selectorKey))];
    this.#entries.set(entryId, keys);
    for (const k of keys) {
      let ids = this.#postings.get(k);
      if (ids === undefined) this.#postings.set(k, (ids = new Set()));
      ids.add(entryId);
    }
  }

  delete(entryId: string): void {
    const keys = this.#entries.get(entryId);
    if (keys === undefined) return;
    this.#entries.delete(entryId);
    for (const k of keys) {
      const ids = this.#postings.get(k);
      ids?.delete(entryId);
      if (ids?.size === 0) this.#postings.delete(k);
    }
  }

  /** Ids of the entries whose selectors ⊆ `callerKeys` (a set of selectorKey strings). */
  match(callerKeys: ReadonlySet<string>): string[] {
    const hits = new Map<string, number>();
    for (const k of callerKeys) {
      const ids = this.#postings.get(k);
      if (ids === undefined) continue;
      for (const id of ids) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    const out: string[] = [];
    for (const [id, n] of hits) if (n === this.#entries.get(id)?.length) out.push(id);
    return out;
  }
}

/** Whether every key of `inner` is in `outer`. */
export function isSubset(inner: readonly string[], outer: ReadonlySet<string>): boolean {
  for (const k of inner) if (!outer.has(k)) return false;
  return true;
}
