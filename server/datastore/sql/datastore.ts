/**
 * One Datastore over any SqlDialect: the stores share the Kysely instance, the dialect and the
 * change notifier; the engine files (sqlite.ts, postgres.ts) only build those and say how to close.
 */
import type { Kysely } from 'kysely';
import type { AgentStore, BundleStore, CaJournalStore, Datastore, EntryStore, EventStore, JoinTokenStore } from '../datastore.js';
import { type DatastoreOptions, silentLogger } from '../options.js';
import { SqlAgentStore } from './agents.js';
import { SqlBundleStore } from './bundles.js';
import { SqlCaJournalStore } from './ca-journals.js';
import type { SqlContext } from './context.js';
import type { SqlDialect } from './dialect.js';
import { SqlEntryStore } from './entries.js';
import { SqlEventStore } from './events.js';
import { SqlJoinTokenStore } from './join-tokens.js';
import { ChangeNotifier, type PushSource } from './notifier.js';
import type { Database } from './schema.js';

export const DEFAULT_POLL_INTERVAL_MS = 1000;

export interface SqlDatastoreParts {
  db: Kysely<Database>;
  dialect: SqlDialect;
  options: DatastoreOptions;
  push?: PushSource;
  /** Releases what the engine opened besides the Kysely instance (which is destroyed here). */
  onClose?: () => Promise<void>;
}

export class SqlDatastore implements Datastore {
  readonly kind: SqlDialect['kind'];
  readonly entries: EntryStore;
  readonly agents: AgentStore;
  readonly joinTokens: JoinTokenStore;
  readonly bundles: BundleStore;
  readonly caJournals: CaJournalStore;
  readonly events: EventStore;
  readonly #notifier: ChangeNotifier;
  readonly #parts: SqlDatastoreParts;
  #closing: Promise<void> | undefined;

  constructor(parts: SqlDatastoreParts) {
    this.#parts = parts;
    this.kind = parts.dialect.kind;
    const logger = parts.options.logger ?? silentLogger;
    let events: SqlEventStore | undefined;
    this.#notifier = new ChangeNotifier({
      latestId: () => events!.latestId(),
      pollIntervalMs: parts.options.events?.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
      logger,
      ...(parts.push ? { push: parts.push } : {}),
    });
    const ctx: SqlContext = {
      db: parts.db,
      dialect: parts.dialect,
      logger,
      hooks: parts.options.hooks,
      changed: () => this.#notifier.notify(),
    };
    this.entries = new SqlEntryStore(ctx);
    this.agents = new SqlAgentStore(ctx);
    this.joinTokens = new SqlJoinTokenStore(ctx);
    this.bundles = new SqlBundleStore(ctx);
    this.caJournals = new SqlCaJournalStore(ctx);
    events = new SqlEventStore(ctx, this.#notifier);
    this.events = events;
  }

  /** Idempotent; waits for queries already running to finish before releasing connections. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#notifier.close();
      await this.#parts.db.destroy();
      await this.#parts.onClose?.();
    })();
    return this.#closing;
  }
}
