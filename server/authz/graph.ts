/**
 * The registration entries as a graph, SPIRE's authorization model (authorizedentries/cache.go):
 * an agent may have every entry below its own ID — entries parented by it, entries parented by
 * those entries' SPIFFE IDs, and so on — and everything below each node-alias entry (parent = the
 * server ID) whose selectors are all among the agent's node selectors. Alias entries themselves
 * are not the agent's.
 *
 * Indexes: entries by parent ID (so a walk costs what it finds, not the size of the store) and
 * alias entries by selector (so matching an agent costs its selectors × the aliases sharing one).
 * The server ID is never walked: a (forbidden, reserved-path) entry naming it as its SPIFFE ID
 * would otherwise hand every alias and its subtree to whoever holds that entry.
 */
import type { RegistrationEntry, Selector } from '../datastore/types.js';
import { addTo, removeFrom } from './multimap.js';

/** One string per selector, unambiguous whatever the type and value hold. */
export function selectorKey(s: Selector): string {
  return `${s.type}\u0000${s.value}`;
}

export interface Authorized {
  /** Entry id → entry. */
  entries: Map<string, RegistrationEntry>;
  /** Every SPIFFE ID the walk expanded: the agent's, matching aliases', and its entries'. */
  reached: Set<string>;
}

export class EntryGraph {
  readonly serverId: string;
  readonly #entries = new Map<string, RegistrationEntry>();
  readonly #byParent = new Map<string, Set<string>>();
  readonly #aliasesBySelector = new Map<string, Set<string>>();

  constructor(serverId: string) {
    this.serverId = serverId;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(id: string): RegistrationEntry | undefined {
    return this.#entries.get(id);
  }

  values(): IterableIterator<RegistrationEntry> {
    return this.#entries.values();
  }

  isAlias(entry: RegistrationEntry): boolean {
    return entry.parentId === this.serverId;
  }

  /** Stores `entry` in place of any entry with its id; returns the one it replaced. */
  upsert(entry: RegistrationEntry): RegistrationEntry | undefined {
    const before = this.delete(entry.id);
    this.#entries.set(entry.id, entry);
    addTo(this.#byParent, entry.parentId, entry.id);
    if (this.isAlias(entry)) for (const s of entry.selectors) addTo(this.#aliasesBySelector, selectorKey(s), entry.id);
    return before;
  }

  delete(id: string): RegistrationEntry | undefined {
    const before = this.#entries.get(id);
    if (before === undefined) return undefined;
    this.#entries.delete(id);
    removeFrom(this.#byParent, before.parentId, id);
    if (this.isAlias(before)) for (const s of before.selectors) removeFrom(this.#aliasesBySelector, selectorKey(s), id);
    return before;
  }

  clear(): void {
    this.#entries.clear();
    this.#byParent.clear();
    this.#aliasesBySelector.clear();
  }

  /** Alias entries whose selectors are all in `nodeSelectors` (keys from selectorKey). */
  matchingAliases(nodeSelectors: ReadonlySet<string>): RegistrationEntry[] {
    const seen = new Set<string>();
    const out: RegistrationEntry[] = [];
    for (const key of nodeSelectors) {
      for (const id of this.#aliasesBySelector.get(key) ?? []) {
        if (seen.has(id)) continue;
        seen.add(id);
        const alias = this.#entries.get(id)!;
        if (alias.selectors.every((s) => nodeSelectors.has(selectorKey(s)))) out.push(alias);
      }
    }
    return out;
  }

  /** The entries `agentId` is authorized for, breadth first; cycles end at IDs already reached. */
  authorized(agentId: string, nodeSelectors: ReadonlySet<string>): Authorized {
    const entries = new Map<string, RegistrationEntry>();
    const reached = new Set<string>();
    const queue: string[] = [];
    const reach = (id: string): void => {
      if (id === this.serverId || reached.has(id)) return;
      reached.add(id);
      queue.push(id);
    };
    reach(agentId);
    for (const alias of this.matchingAliases(nodeSelectors)) reach(alias.spiffeId);
    for (let i = 0; i < queue.length; i++) {
      for (const id of this.#byParent.get(queue[i]!) ?? []) {
        const entry = this.#entries.get(id)!;
        entries.set(id, entry);
        reach(entry.spiffeId);
      }
    }
    return { entries, reached };
  }
}
