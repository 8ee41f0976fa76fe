/**
 * LISTEN on the change channel over a dedicated connection (a pooled one would be handed to other
 * queries and lose the subscription). If the connection drops it reconnects with backoff, and
 * wakes listeners once it is back, since notifications sent meanwhile are lost; polling covers
 * the gap until then.
 */
import pg from 'pg';
import { messageOf } from '../../spiffe/errors.js';
import type { DatastoreLogger } from './options.js';
import type { PushSource } from './sql/notifier.js';

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export class PgListener implements PushSource {
  readonly #config: pg.ClientConfig;
  readonly #channel: string;
  readonly #logger: DatastoreLogger;
  #client: pg.Client | undefined;
  #onNotify: (() => void) | undefined;
  #retry: NodeJS.Timeout | undefined;
  #backoff = MIN_BACKOFF_MS;
  /** Bumped by start and stop, so a connection attempt that outlives its subscription ends itself. */
  #generation = 0;

  constructor(config: pg.ClientConfig, channel: string, logger: DatastoreLogger) {
    this.#config = config;
    this.#channel = channel;
    this.#logger = logger;
  }

  start(onNotify: () => void): void {
    this.#onNotify = onNotify;
    this.#generation++;
    void this.#connect(this.#generation, false);
  }

  async stop(): Promise<void> {
    this.#generation++;
    this.#onNotify = undefined;
    if (this.#retry) clearTimeout(this.#retry);
    this.#retry = undefined;
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch((err: unknown) => this.#logger.warn(`datastore: closing the LISTEN connection: ${messageOf(err)}`));
  }

  async #connect(generation: number, reconnecting: boolean): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on('notification', (msg) => {
      if (msg.channel === this.#channel) this.#onNotify?.();
    });
    client.on('error', (err) => this.#lost(client, generation, err));
    client.on('end', () => this.#lost(client, generation, new Error('connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${quoteIdent(this.#channel)}`);
    } catch (err) {
      this.#lost(client, generation, err);
      return;
    }
    if (generation !== this.#generation) {
      await client.end().catch(() => undefined); // already stopped: nobody is left to tell
      return;
    }
    this.#client = client;
    this.#backoff = MIN_BACKOFF_MS;
    if (reconnecting) {
      this.#logger.info('datastore: listening for PostgreSQL change notifications again');
      this.#onNotify?.();
    }
  }

  #lost(client: pg.Client, generation: number, err: unknown): void {
    if (generation !== this.#generation || this.#retry) return;
    if (this.#client === client) this.#client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => undefined); // it is already broken; the cause is logged below
    this.#logger.warn(
      `datastore: the PostgreSQL LISTEN connection failed (${messageOf(err)}); polling until it is back, retrying in ${this.#backoff} ms`,
    );
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (generation === this.#generation) void this.#connect(generation, true);
    }, this.#backoff);
    this.#retry.unref();
    this.#backoff = Math.min(this.#backoff * 2, MAX_BACKOFF_MS);
  }
}
