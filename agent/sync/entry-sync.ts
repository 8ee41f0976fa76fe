/**
 * The agent's end of SyncEntries: the server pushes the full set of the agent's entries, then an
 * update whenever one changes, so nothing on the way from an operator's command to a workload
 * waits for a timer. When the stream breaks (server restart, network) the agent reconnects with
 * exponential backoff and jitter and resumes after the last event id it applied: the server sends
 * only what changed meanwhile, or the full set when it no longer knows. A full set sent in pages
 * is applied only when its last page arrives, so a break mid-way loses nothing.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import { messageOf } from '../../spiffe/errors.js';
import type { SyncedEntry } from '../cache/entry.js';
import { Backoff } from '../client/backoff.js';
import type { EntryMessage, SyncEntriesResponseMessage } from '../client/messages.js';
import type { Logger } from '../logger.js';
import { syncedEntry } from './convert.js';

export interface EntrySink {
  full(entries: SyncedEntry[]): void;
  update(upserted: SyncedEntry[], removedIds: string[]): void;
}

export interface EntrySyncOptions {
  /** Opens a SyncEntries call; throws when the agent cannot call the server yet. */
  open: (resumeAfterEventId: string) => ClientReadableStream<SyncEntriesResponseMessage>;
  sink: EntrySink;
  /** The stream delivered its first message: the server is reachable. */
  onConnected: () => void;
  /** The stream failed (the agent may have to re-attest or stop: refusals carry a reason). */
  onError: (err: unknown) => void;
  logger: Logger;
  /** Reconnect backoff (default 250 ms doubling to 10 s). */
  backoff?: { baseMs: number; maxMs: number };
}

export class EntrySync {
  readonly #o: EntrySyncOptions;
  readonly #backoff: Backoff;
  #call: ClientReadableStream<SyncEntriesResponseMessage> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastEventId = '0';
  #pages: EntryMessage[] = [];
  #synced = false;
  #running = false;

  constructor(o: EntrySyncOptions) {
    this.#o = o;
    this.#backoff = new Backoff(o.backoff?.baseMs ?? 250, o.backoff?.maxMs ?? 10_000);
  }

  /** A full set has been applied at least once. */
  get synced(): boolean {
    return this.#synced;
  }

  get lastEventId(): string {
    return this.#lastEventId;
  }

  start(): void {
    this.#running = true;
    this.#connect();
  }

  /** Reconnects now (new credentials after attestation or renewal), resuming where it was. */
  restart(): void {
    if (!this.#running) return;
    this.#backoff.reset();
    this.#connect();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drop();
  }

  #drop(): void {
    const call = this.#call;
    this.#call = undefined;
    this.#pages = [];
    call?.cancel();
  }

  #connect(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#drop();
    if (!this.#running) return;
    let call: ClientReadableStream<SyncEntriesResponseMessage>;
    try {
      call = this.#o.open(this.#lastEventId);
    } catch (err) {
      this.#failed(err);
      return;
    }
    this.#call = call;
    let first = true;
    call.on('data', (m: SyncEntriesResponseMessage) => {
      if (this.#call !== call) return;
      if (first) {
        first = false;
        this.#backoff.reset();
        this.#o.onConnected();
      }
      this.#receive(m);
    });
    call.on('error', (err: Error) => {
      if (this.#call === call) this.#failed(err);
    });
    call.on('end', () => {
      if (this.#call === call) this.#failed(new Error('the server ended the entry stream'));
    });
  }

  #receive(m: SyncEntriesResponseMessage): void {
    if (m.full) {
      this.#pages.push(...m.full.entries);
      if (m.full.more) return;
      const entries = this.#pages.map(syncedEntry);
      this.#pages = [];
      this.#lastEventId = m.full.event_id;
      this.#synced = true;
      this.#o.logger.debug({ entries: entries.length, eventId: m.full.event_id }, 'sync: received the full entry set');
      this.#o.sink.full(entries);
    } else if (m.update) {
      this.#lastEventId = m.update.event_id;
      this.#o.logger.debug(
        { upserted: m.update.upserted.length, removed: m.update.removed_ids.length, eventId: m.update.event_id },
        'sync: received an entry update',
      );
      this.#o.sink.update(m.update.upserted.map(syncedEntry), m.update.removed_ids);
    }
  }

  #failed(err: unknown): void {
    this.#call = undefined;
    this.#pages = [];
    if (!this.#running) return;
    this.#o.onError(err);
    const delay = this.#backoff.next();
    // Health logs the outage once; each further retry is detail.
    const level = this.#backoff.attempts <= 1 ? 'info' : 'debug';
    this.#o.logger[level]({ err: messageOf(err), retryInMs: delay, resumeAfter: this.#lastEventId }, 'sync: entry stream lost; reconnecting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay);
  }
}
