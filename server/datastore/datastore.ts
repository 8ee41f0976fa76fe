/**
 * The datastore seam: one interface grouped by noun (not SPIRE's 51 methods on one type), with a
 * SQLite and a PostgreSQL implementation sharing schema and migrations. Every method that changes
 * more than one row runs in one transaction and writes its change events in that same transaction,
 * so a reader of the event log never sees a change that did not commit, nor misses one that did.
 */
import type {
  AttestedAgent,
  CaJournal,
  ChangeEvent,
  EntryFilter,
  EntryPatch,
  JoinToken,
  NewEntry,
  Page,
  PageResult,
  RegistrationEntry,
  Selector,
  StoredBundle,
} from './types.js';

export interface EntryStore {
  /**
   * Creates all entries or none. An entry with the same spiffe_id, parent_id and selector set as an
   * existing one (or as another in the batch) fails the batch with a DatastoreError ALREADY_EXISTS
   * naming it. The returned records are what was stored: selectors and federatesWith sorted and
   * deduplicated, dnsNames deduplicated in their order. Integers neither engine could store
   * exactly (fractions, TTLs outside int32, times beyond 2^53) are INVALID_ARGUMENT.
   */
  create(entries: NewEntry[]): Promise<RegistrationEntry[]>;
  get(id: string): Promise<RegistrationEntry | undefined>;
  list(filter?: EntryFilter, page?: Page): Promise<PageResult<RegistrationEntry>>;
  count(filter?: EntryFilter): Promise<number>;
  /** Applies the patch and bumps the revision; NOT_FOUND if absent. */
  update(id: string, patch: EntryPatch): Promise<RegistrationEntry>;
  /**
   * Deletes all or none; NOT_FOUND (naming the id) if any is absent. Returns what was deleted, in
   * the order asked for; an id given twice is deleted (and returned) once.
   */
  delete(ids: string[]): Promise<RegistrationEntry[]>;
  /** Deletes entries whose expiresAt is before `now`; returns how many. */
  pruneExpired(now: number): Promise<number>;
}

export interface AgentStore {
  /** Creates or replaces the agent record (re-attestation keeps createdAt). */
  upsert(agent: Omit<AttestedAgent, 'createdAt' | 'updatedAt'>): Promise<AttestedAgent>;
  get(spiffeId: string): Promise<AttestedAgent | undefined>;
  list(filter?: { attestationType?: string; banned?: boolean }, page?: Page): Promise<PageResult<AttestedAgent>>;
  count(): Promise<number>;
  /** Records a renewed SVID not used yet. */
  setNewSerial(spiffeId: string, serial: string, expiresAt: number): Promise<AttestedAgent>;
  /**
   * Promotes the new serial to current (first use of a renewed SVID). CONFLICT (ABORTED) when
   * there is no new serial, e.g. because another server promoted it a moment ago.
   */
  promoteNewSerial(spiffeId: string): Promise<AttestedAgent>;
  setSelectors(spiffeId: string, selectors: Selector[]): Promise<AttestedAgent>;
  ban(spiffeId: string): Promise<AttestedAgent>;
  /** Deletes the record (evict): the agent may attest again. */
  delete(spiffeId: string): Promise<AttestedAgent>;
}

export interface JoinTokenStore {
  create(token: JoinToken): Promise<JoinToken>;
  /**
   * Deletes the token and returns it, in one step, so that two concurrent attestations can never
   * both use it. Returns undefined when there is no such token (used, or never existed).
   */
  consume(token: string): Promise<JoinToken | undefined>;
  pruneExpired(now: number): Promise<number>;
}

export interface BundleStore {
  get(trustDomain: string): Promise<StoredBundle | undefined>;
  list(): Promise<StoredBundle[]>;
  /**
   * Read-modify-write under a row lock (several servers publish into one bundle): `fn` gets the
   * current bundle (or undefined) and returns the next one, or undefined to leave it unchanged.
   * `fn` may be called more than once (a lost race to create the row, a deadlock retry), so it
   * must be free of side effects; an error it throws reaches the caller unchanged. The returned
   * bundle must be for `trustDomain` and its sequence a uint64, else INVALID_ARGUMENT.
   */
  update(
    trustDomain: string,
    fn: (current: StoredBundle | undefined) => StoredBundle | undefined,
  ): Promise<StoredBundle | undefined>;
  /** NOT_FOUND when there is no such bundle. */
  delete(trustDomain: string): Promise<void>;
}

export interface CaJournalStore {
  get(serverInstanceId: string): Promise<CaJournal | undefined>;
  put(serverInstanceId: string, data: string): Promise<CaJournal>;
  /** Every server instance's journal: a server prunes the expired authorities of servers gone for good. */
  list(): Promise<CaJournal[]>;
}

export interface EventStore {
  /** The highest event id so far (0 when there is none). */
  latestId(): Promise<number>;
  /**
   * Committed events with id > afterId, oldest first, at most `limit` (default 1000). On
   * PostgreSQL a lower id can commit after a higher one has been read, so resuming from the
   * highest id seen can lose events: follow the log with EventTail (event-tail.ts), which holds
   * such gaps open for a while.
   */
  since(afterId: number, limit?: number): Promise<ChangeEvent[]>;
  /**
   * Calls `listener` soon after events are committed by this process or, on PostgreSQL, by any
   * process sharing the database (LISTEN/NOTIFY, with polling as the fallback). The listener then
   * reads them with since(). Returns an unsubscribe function.
   * The polling fallback (options.events.pollIntervalMs, default 1 s) runs on SQLite too, so a
   * second process on one SQLite file is noticed within that interval. Wake-ups may be spurious
   * or merged; they say only "read the log". A listener that throws is logged, not unsubscribed.
   */
  onChange(listener: () => void): () => void;
  /** Deletes events older than `at` (unix seconds) but never the newest, so latestId() never goes back. */
  pruneOlderThan(at: number): Promise<number>;
}

export interface Datastore {
  readonly kind: 'sqlite' | 'postgres';
  readonly entries: EntryStore;
  readonly agents: AgentStore;
  readonly joinTokens: JoinTokenStore;
  readonly bundles: BundleStore;
  readonly caJournals: CaJournalStore;
  readonly events: EventStore;
  close(): Promise<void>;
}
