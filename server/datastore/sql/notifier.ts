/**
 * Wakes onChange listeners. Three sources, any of which is enough on its own:
 *   - this process's own commits (immediately, in-process);
 *   - a push source from other processes (PostgreSQL LISTEN), when there is one;
 *   - polling `latestId()`, the fallback for notifications lost while a LISTEN connection was down.
 * Listeners learn only that something changed and read the log themselves, so a spurious or
 * doubled wake-up is harmless and nothing here has to be exact.
 * Polling and the push source run only while someone listens.
 */
import { messageOf } from '../../../spiffe/errors.js';
import type { DatastoreLogger } from '../options.js';

/** Notifications from other processes. */
export interface PushSource {
  start(onNotify: () => void): void;
  stop(): Promise<void>;
}

export interface NotifierOptions {
  latestId: () => Promise<number>;
  pollIntervalMs: number;
  logger: DatastoreLogger;
  push?: PushSource;
}

export class ChangeNotifier {
  readonly #listeners = new Set<() => void>();
  readonly #opts: NotifierOptions;
  #timer: NodeJS.Timeout | undefined;
  #lastSeen: number | undefined;
  #polling = false;
  #pollFailing = false;

  constructor(opts: NotifierOptions) {
    this.#opts = opts;
  }

  subscribe(listener: () => void): () => void {
    // A listener added twice gets its own subscription each time.
    const own = (): void => listener();
    this.#listeners.add(own);
    if (this.#listeners.size === 1) this.#start();
    return () => {
      if (this.#listeners.delete(own) && this.#listeners.size === 0) void this.#stop();
    };
  }

  /** Wakes every listener, after the caller's stack unwinds so a slow listener cannot delay a write. */
  notify(): void {
    if (this.#listeners.size === 0) return;
    setImmediate(() => {
      for (const listener of [...this.#listeners]) {
        try {
          listener();
        } catch (err) {
          this.#opts.logger.warn(`datastore: an onChange listener threw: ${messageOf(err)}`);
        }
      }
    });
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await this.#stop();
  }

  #start(): void {
    this.#opts.push?.start(() => this.notify());
    if (this.#opts.pollIntervalMs > 0) {
      this.#timer = setInterval(() => void this.#poll(), this.#opts.pollIntervalMs);
      this.#timer.unref();
      void this.#poll();
    }
  }

  async #stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lastSeen = undefined;
    await this.#opts.push?.stop();
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const latest = await this.#opts.latestId();
      if (this.#pollFailing) this.#opts.logger.info('datastore: polling the change log works again');
      this.#pollFailing = false;
      if (this.#lastSeen !== undefined && latest !== this.#lastSeen) this.notify();
      this.#lastSeen = latest;
    } catch (err) {
      // Logged once per outage, not every interval; the next successful poll says so.
      if (!this.#pollFailing) this.#opts.logger.warn(`datastore: polling the change log failed: ${messageOf(err)}`);
      this.#pollFailing = true;
    } finally {
      this.#polling = false;
    }
  }
}
