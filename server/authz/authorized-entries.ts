/**
 * Which entries each agent may have, kept current as changes arrive, and the pushes that follow.
 *
 * Approach (sized for 10,000s of entries and agents):
 * - The graph (graph.ts) holds every entry, indexed by parent ID and alias selectors; every
 *   agent's node selectors are kept too. Nothing per agent is computed until an agent asks.
 * - An agent that syncs or mints is "tracked": its authorized set is computed once by walking the
 *   graph from its ID and its matching aliases, and remembered with the set of SPIFFE IDs the walk
 *   expanded. A reverse index (expanded ID → tracked agents) and an index of tracked agents by
 *   node selector say which agents a change can concern.
 * - A batch of changes recomputes only those agents: an entry concerns the agents that reached its
 *   old or new parent ID, and, for an alias, those whose node selectors include the alias's; an
 *   agent's own record concerns that agent. (Any entry that joins or leaves a set has a changed
 *   entry or alias on its path whose parent was already reached, so nothing is missed.) Each
 *   concerned agent is walked again once per batch and compared with what it had, which yields one
 *   update per agent per batch however many entries the batch touched.
 * - Tracked agents keep a bounded history of changed ids (entry-diff.ts), so one reconnecting with
 *   the event id of its last message gets only what changed since.
 * - An agent nobody has used for `retentionMs` (no open stream, no lookup) is forgotten.
 * Everything here is synchronous, so a stream that subscribes between two batches sees exactly
 * the state its first message describes and every later batch's update.
 */
import type { AttestedAgent, RegistrationEntry } from '../datastore/types.js';
import type { AuthzState, ChangeBatch, EntryUpdate, Revoked, SyncStart } from './changes.js';
import { ChangeHistory, sameEntry } from './entry-diff.js';
import { EntryGraph, selectorKey } from './graph.js';
import { addTo, removeFrom } from './multimap.js';

export type { AuthzState, Change, ChangeBatch, EntryUpdate, Revoked, SyncStart } from './changes.js';

export interface AuthorizedEntriesOptions {
  /** How long an unused agent's set and history are kept, in ms (default 10 minutes). */
  retentionMs?: number;
  /** Changed ids remembered per agent for resuming (default 50,000). */
  maxHistoryIds?: number;
  /** A listener threw; the others still ran. */
  onListenerError: (err: unknown, agentId: string) => void;
}

type Listener = (update: EntryUpdate) => void;

interface Tracked {
  agentId: string;
  entries: Map<string, RegistrationEntry>;
  reached: Set<string>;
  selectorKeys: Set<string>;
  history: ChangeHistory;
  listeners: Set<Listener>;
  expiry: NodeJS.Timeout | undefined;
}

/** Tag for changes not caused by one event batch: always resent to a resuming agent. */
const UNTIED = Number.MAX_SAFE_INTEGER;

const MAX_REVOKED = 100_000;

export class AuthorizedEntries {
  readonly #graph: EntryGraph;
  readonly #retentionMs: number;
  readonly #maxHistoryIds: number;
  readonly #onListenerError: AuthorizedEntriesOptions['onListenerError'];
  /** Every agent's node selectors (as selector keys), banned and unknown agents left out. */
  readonly #nodeSelectors = new Map<string, Set<string>>();
  readonly #tracked = new Map<string, Tracked>();
  readonly #reverse = new Map<string, Set<string>>();
  readonly #bySelector = new Map<string, Set<string>>();
  /**
   * Agents the feed saw banned or deleted, so that a stale record read before that (an RPC's
   * authentication racing the ban) cannot bring them back; cleared by a later live record.
   */
  readonly #revoked = new Set<string>();
  #eventId = 0;
  #highWater = 0;

  constructor(serverId: string, options: AuthorizedEntriesOptions) {
    this.#graph = new EntryGraph(serverId);
    this.#retentionMs = options.retentionMs ?? 10 * 60_000;
    this.#maxHistoryIds = options.maxHistoryIds ?? 50_000;
    this.#onListenerError = options.onListenerError;
  }

  /** The event id the index is current to. */
  get eventId(): number {
    return this.#eventId;
  }

  get trackedAgents(): number {
    return this.#tracked.size;
  }

  get entryCount(): number {
    return this.#graph.size;
  }

  /**
   * Replaces everything (start, or a reload after lost events); tracked agents get the difference.
   * Returns the agents that were known and are now banned or gone.
   */
  replaceAll(state: AuthzState): Revoked[] {
    this.#graph.clear();
    for (const e of state.entries) this.#graph.upsert(e);
    const known = new Set(this.#nodeSelectors.keys());
    this.#nodeSelectors.clear();
    const revoked: Revoked[] = [];
    for (const a of state.agents) {
      this.#setAgent(a.spiffeId, a);
      if (!a.banned) this.#revoked.delete(a.spiffeId);
      if (a.banned && known.has(a.spiffeId)) revoked.push({ agentId: a.spiffeId, reason: 'banned' });
      known.delete(a.spiffeId);
    }
    for (const agentId of known) revoked.push({ agentId, reason: 'evicted' });
    for (const r of revoked) this.#revoke(r.agentId);
    this.#eventId = Math.max(this.#eventId, state.eventId);
    this.#highWater = Math.max(this.#highWater, state.eventId);
    for (const t of this.#tracked.values()) this.#recompute(t, UNTIED, true);
    return revoked;
  }

  /** Applies a batch; returns the agents it bans or deletes (their streams must be closed). */
  apply(batch: ChangeBatch): Revoked[] {
    this.#eventId = Math.max(this.#eventId, batch.eventId);
    this.#highWater = Math.max(this.#highWater, batch.maxEventId);
    const concerned = new Set<string>();
    const revoked: Revoked[] = [];
    for (const { key, after } of batch.agents) {
      this.#setAgent(key, after);
      if (after === undefined || after.banned) {
        revoked.push({ agentId: key, reason: after === undefined ? 'evicted' : 'banned' });
        this.#revoke(key);
      } else {
        this.#revoked.delete(key);
        if (this.#tracked.has(key)) concerned.add(key);
      }
    }
    for (const { key, after } of batch.entries) {
      const before = after === undefined ? this.#graph.delete(key) : this.#graph.upsert(after);
      if (before !== undefined) this.#collect(before, concerned);
      if (after !== undefined) this.#collect(after, concerned);
    }
    for (const agentId of concerned) {
      const t = this.#tracked.get(agentId);
      if (t !== undefined) this.#recompute(t, batch.maxEventId, false);
    }
    return revoked;
  }

  /**
   * A fresher agent record than the change feed has delivered yet (attestation, authentication).
   * A banned one is left to the feed, which reports it so that its streams are closed.
   */
  noteAgent(agent: AttestedAgent): void {
    if (agent.banned || this.#revoked.has(agent.spiffeId)) return;
    this.#setAgent(agent.spiffeId, agent);
    const t = this.#tracked.get(agent.spiffeId);
    if (t !== undefined && !sameKeys(t.selectorKeys, this.#nodeSelectors.get(agent.spiffeId)!)) this.#recompute(t, UNTIED, false);
  }

  /** An agent just attested here: its record is the newest there is, whatever the feed saw before. */
  attested(agent: AttestedAgent): void {
    this.#revoked.delete(agent.spiffeId);
    this.noteAgent(agent);
  }

  /** Known, not banned, not deleted: the agent may hold streams. */
  isActive(agentId: string): boolean {
    return this.#nodeSelectors.has(agentId);
  }

  /** The agent's authorized entries by id (tracking it from now on). */
  lookup(agentId: string): ReadonlyMap<string, RegistrationEntry> {
    const t = this.#ensure(agentId);
    if (t.listeners.size === 0) this.#scheduleExpiry(t);
    return t.entries;
  }

  /**
   * Starts pushing the agent's changes to `listener`. The returned start message brings the agent
   * to the current state: the full set, or only the changes after `resumeAfter` when known.
   */
  subscribe(agentId: string, resumeAfter: number, listener: Listener): { start: SyncStart; unsubscribe: () => void } {
    const t = this.#ensure(agentId);
    const changed = resumeAfter > 0 && resumeAfter <= this.#eventId ? t.history.changedAfter(resumeAfter) : undefined;
    let start: SyncStart;
    if (changed === undefined) {
      start = { kind: 'full', entries: [...t.entries.values()], eventId: this.#eventId };
    } else {
      const upserted: RegistrationEntry[] = [];
      const removedIds: string[] = [];
      for (const id of changed) {
        const e = t.entries.get(id);
        if (e === undefined) removedIds.push(id);
        else upserted.push(e);
      }
      start = { kind: 'update', upserted, removedIds, eventId: this.#eventId };
    }
    t.listeners.add(listener);
    this.#clearExpiry(t);
    const unsubscribe = (): void => {
      if (!t.listeners.delete(listener)) return;
      if (t.listeners.size === 0 && this.#tracked.get(agentId) === t) this.#scheduleExpiry(t);
    };
    return { start, unsubscribe };
  }

  /** Forgets every tracked agent and stops their timers. */
  close(): void {
    for (const agentId of [...this.#tracked.keys()]) this.#untrack(agentId);
  }

  #revoke(agentId: string): void {
    this.#untrack(agentId);
    this.#revoked.add(agentId);
    // Bounded: the oldest revocations matter least (their records are long gone everywhere).
    if (this.#revoked.size > MAX_REVOKED) this.#revoked.delete(this.#revoked.values().next().value!);
  }

  #setAgent(agentId: string, agent: AttestedAgent | undefined): void {
    if (agent === undefined || agent.banned) this.#nodeSelectors.delete(agentId);
    else this.#nodeSelectors.set(agentId, new Set(agent.selectors.map(selectorKey)));
  }

  #collect(entry: RegistrationEntry, concerned: Set<string>): void {
    for (const agentId of this.#reverse.get(entry.parentId) ?? []) concerned.add(agentId);
    if (!this.#graph.isAlias(entry) || entry.selectors.length === 0) return;
    for (const agentId of this.#bySelector.get(selectorKey(entry.selectors[0]!)) ?? []) {
      const keys = this.#tracked.get(agentId)!.selectorKeys;
      if (entry.selectors.every((s) => keys.has(selectorKey(s)))) concerned.add(agentId);
    }
  }

  #ensure(agentId: string): Tracked {
    let t = this.#tracked.get(agentId);
    if (t !== undefined) return t;
    const selectorKeys = this.#nodeSelectors.get(agentId) ?? new Set<string>();
    const { entries, reached } = this.#graph.authorized(agentId, selectorKeys);
    t = {
      agentId, entries, reached, selectorKeys, listeners: new Set(), expiry: undefined,
      history: new ChangeHistory(this.#highWater, this.#maxHistoryIds),
    };
    this.#tracked.set(agentId, t);
    for (const id of reached) addTo(this.#reverse, id, agentId);
    for (const key of selectorKeys) addTo(this.#bySelector, key, agentId);
    return t;
  }

  #untrack(agentId: string): void {
    const t = this.#tracked.get(agentId);
    if (t === undefined) return;
    this.#clearExpiry(t);
    for (const id of t.reached) removeFrom(this.#reverse, id, agentId);
    for (const key of t.selectorKeys) removeFrom(this.#bySelector, key, agentId);
    t.listeners.clear();
    this.#tracked.delete(agentId);
  }

  #recompute(t: Tracked, tag: number, reload: boolean): void {
    const keys = this.#nodeSelectors.get(t.agentId) ?? new Set<string>();
    if (reload || !sameKeys(keys, t.selectorKeys)) {
      for (const key of t.selectorKeys) removeFrom(this.#bySelector, key, t.agentId);
      for (const key of keys) addTo(this.#bySelector, key, t.agentId);
      t.selectorKeys = keys;
    }
    const { entries, reached } = this.#graph.authorized(t.agentId, keys);
    const upserted: RegistrationEntry[] = [];
    const removedIds: string[] = [];
    for (const [id, e] of entries) {
      const old = t.entries.get(id);
      if (old === undefined || !sameEntry(old, e)) upserted.push(e);
    }
    for (const id of t.entries.keys()) if (!entries.has(id)) removedIds.push(id);
    for (const id of t.reached) if (!reached.has(id)) removeFrom(this.#reverse, id, t.agentId);
    for (const id of reached) if (!t.reached.has(id)) addTo(this.#reverse, id, t.agentId);
    t.entries = entries;
    t.reached = reached;
    if (upserted.length === 0 && removedIds.length === 0) return;
    t.history.record(tag, [...upserted.map((e) => e.id), ...removedIds]);
    const update: EntryUpdate = { upserted, removedIds, eventId: this.#eventId };
    for (const listener of [...t.listeners]) {
      try {
        listener(update);
      } catch (err) {
        this.#onListenerError(err, t.agentId);
      }
    }
  }

  #scheduleExpiry(t: Tracked): void {
    this.#clearExpiry(t);
    t.expiry = setTimeout(() => {
      t.expiry = undefined;
      if (t.listeners.size === 0 && this.#tracked.get(t.agentId) === t) this.#untrack(t.agentId);
    }, this.#retentionMs);
    t.expiry.unref();
  }

  #clearExpiry(t: Tracked): void {
    if (t.expiry !== undefined) clearTimeout(t.expiry);
    t.expiry = undefined;
  }
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}
