/**
 * Keeps an AuthorizedEntries index current from the datastore: everything is read at start, then
 * the change-event log is followed with an EventTail (in-process notifications on SQLite,
 * LISTEN/NOTIFY on PostgreSQL) — no timer stands between an operator's change and the push.
 *
 * Events say only which record changed, so each batch reads the records' current state (one query
 * per record, or one for all entries when a batch touches more than `bulkThreshold` of them). While
 * a batch is being read, later events queue up and are then handled as one batch: a burst of
 * changes becomes one update per concerned agent, not one per entry. If events were lost (the tail
 * gave up on a gap) or reading failed, everything is read again and tracked agents get the
 * difference; a failed read is retried every second until it succeeds.
 */
import { messageOf } from '../../spiffe/errors.js';
import type { Datastore } from '../datastore/datastore.js';
import { EventTail, type EventTailOptions } from '../datastore/event-tail.js';
import type { AttestedAgent, ChangeEvent, RegistrationEntry } from '../datastore/types.js';
import type { AuthorizedEntries } from './authorized-entries.js';
import type { AuthzState, Change, ChangeBatch, Revoked } from './changes.js';

/** The little the feed logs; pino (fields first) and the server's logger satisfy it. */
export interface FeedLogger {
  info(fields: Readonly<Record<string, unknown>>, message: string): void;
  warn(fields: Readonly<Record<string, unknown>>, message: string): void;
  error(fields: Readonly<Record<string, unknown>>, message: string): void;
}

export interface AuthzFeedOptions {
  datastore: Pick<Datastore, 'entries' | 'agents' | 'events'>;
  index: AuthorizedEntries;
  logger: FeedLogger;
  /** Agents banned or deleted: close their streams. */
  onRevoked: (revoked: Revoked[]) => void;
  /** A trust domain's bundle changed (or may have, after a reload). */
  onBundleChanged: (trustDomain: string | undefined) => void;
  /** Above this many changed entries in one batch, all entries are read in one query (default 200). */
  bulkThreshold?: number;
  /** EventTail tuning, for tests. */
  tail?: Omit<EventTailOptions, 'fromId' | 'logger'>;
}

const RETRY_MS = 1000;

export class AuthzFeed {
  readonly #o: AuthzFeedOptions;
  readonly #tail: EventTail;
  #pending: ChangeEvent[] = [];
  #safe: number;
  #reload = false;
  #loading = true;
  #running = false;
  #stopped = false;
  #retry: NodeJS.Timeout | undefined;

  private constructor(o: AuthzFeedOptions, fromId: number) {
    this.#o = o;
    this.#safe = fromId;
    const log = o.logger;
    this.#tail = new EventTail(o.datastore.events, {
      ...o.tail,
      fromId,
      logger: { info: (m) => log.info({}, m), warn: (m) => log.warn({}, m) },
    });
    this.#tail.on('events', (events) => {
      this.#pending.push(...events);
      this.#safe = this.#tail.lastId;
      this.#kick();
    });
    this.#tail.on('skipped', (ids) => {
      log.warn({ eventIds: ids }, 'authz: change events were lost; reading every entry and agent again');
      this.#reload = true;
      this.#safe = this.#tail.lastId;
      this.#kick();
    });
    this.#tail.on('error', (err) => log.warn({ err: messageOf(err) }, 'authz: reading the change log failed; retrying'));
  }

  /** Loads every entry and agent into the index, then follows changes. */
  static async start(o: AuthzFeedOptions): Promise<AuthzFeed> {
    // The tail is created before the load so that nothing committed during the load is missed.
    const fromId = await o.datastore.events.latestId();
    const feed = new AuthzFeed(o, fromId);
    try {
      o.index.replaceAll(await feed.#readAll(fromId));
    } catch (err) {
      feed.stop();
      throw err;
    }
    feed.#loading = false;
    feed.#kick();
    return feed;
  }

  stop(): void {
    this.#stopped = true;
    this.#tail.close();
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = undefined;
  }

  #kick(): void {
    if (this.#running || this.#loading || this.#stopped) return;
    this.#running = true;
    void this.#run().finally(() => {
      this.#running = false;
    });
  }

  async #run(): Promise<void> {
    while (!this.#stopped && (this.#pending.length > 0 || this.#reload)) {
      const events = this.#pending.splice(0);
      const safe = this.#safe;
      const reload = this.#reload;
      this.#reload = false;
      try {
        let revoked: Revoked[];
        if (reload) {
          const state = await this.#readAll(safe);
          if (this.#stopped) return;
          revoked = this.#o.index.replaceAll(state);
          this.#o.onBundleChanged(undefined);
        } else {
          const batch = await this.#read(events, safe);
          if (this.#stopped) return;
          revoked = this.#o.index.apply(batch);
          for (const td of new Set(events.filter((e) => e.kind === 'bundle').map((e) => e.key))) this.#o.onBundleChanged(td);
        }
        if (revoked.length > 0) this.#o.onRevoked(revoked);
      } catch (err) {
        this.#o.logger.error({ err: messageOf(err) }, `authz: applying changes failed; reading everything again in ${RETRY_MS} ms`);
        this.#reload = true;
        this.#retry ??= setTimeout(() => {
          this.#retry = undefined;
          this.#kick();
        }, RETRY_MS);
        return;
      }
    }
  }

  async #readAll(eventId: number): Promise<AuthzState> {
    const ds = this.#o.datastore;
    const [entries, agents] = await Promise.all([ds.entries.list(), ds.agents.list()]);
    return { entries: entries.items, agents: agents.items, eventId };
  }

  async #read(events: readonly ChangeEvent[], eventId: number): Promise<ChangeBatch> {
    const ds = this.#o.datastore;
    const entryKeys = new Set<string>();
    const agentKeys = new Set<string>();
    let maxEventId = eventId;
    for (const e of events) {
      maxEventId = Math.max(maxEventId, e.id);
      if (e.kind === 'entry') entryKeys.add(e.key);
      else if (e.kind === 'agent') agentKeys.add(e.key);
    }
    let entries: Change<RegistrationEntry>[];
    if (entryKeys.size > (this.#o.bulkThreshold ?? 200)) {
      const all = new Map((await ds.entries.list()).items.map((e) => [e.id, e]));
      entries = [...entryKeys].map((key) => ({ key, after: all.get(key) }));
    } else {
      entries = await Promise.all([...entryKeys].map(async (key) => ({ key, after: await ds.entries.get(key) })));
    }
    const agents: Change<AttestedAgent>[] = await Promise.all(
      [...agentKeys].map(async (key) => ({ key, after: await ds.agents.get(key) })),
    );
    return { entries, agents, eventId, maxEventId };
  }
}
