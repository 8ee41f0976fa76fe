/**
 * The agent's end of WatchBundle: the trust domain's bundle now and after every change (a CA
 * prepared at half its life appears here long before it signs anything). Reconnects like the
 * entry stream. Each document goes to `onBundle`, which keeps, persists and serves it.
 */
import type { ClientReadableStream } from '@grpc/grpc-js';
import { messageOf } from '../../spiffe/errors.js';
import { Backoff } from '../client/backoff.js';
import type { WatchBundleResponseMessage } from '../client/messages.js';
import type { Logger } from '../logger.js';

export interface BundleWatchOptions {
  open: () => ClientReadableStream<WatchBundleResponseMessage>;
  onBundle: (json: string) => Promise<void>;
  onConnected: () => void;
  onError: (err: unknown) => void;
  logger: Logger;
  backoff?: { baseMs: number; maxMs: number };
}

export class BundleWatch {
  readonly #o: BundleWatchOptions;
  readonly #backoff: Backoff;
  #call: ClientReadableStream<WatchBundleResponseMessage> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(o: BundleWatchOptions) {
    this.#o = o;
    this.#backoff = new Backoff(o.backoff?.baseMs ?? 250, o.backoff?.maxMs ?? 10_000);
  }

  start(): void {
    this.#running = true;
    this.#connect();
  }

  restart(): void {
    if (!this.#running) return;
    this.#backoff.reset();
    this.#connect();
  }

  stop(): void {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const call = this.#call;
    this.#call = undefined;
    call?.cancel();
  }

  #connect(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const previous = this.#call;
    this.#call = undefined;
    previous?.cancel();
    if (!this.#running) return;
    let call: ClientReadableStream<WatchBundleResponseMessage>;
    try {
      call = this.#o.open();
    } catch (err) {
      this.#failed(err);
      return;
    }
    this.#call = call;
    let first = true;
    call.on('data', (m: WatchBundleResponseMessage) => {
      if (this.#call !== call) return;
      if (first) {
        first = false;
        this.#backoff.reset();
        this.#o.onConnected();
      }
      this.#o.onBundle(m.bundle.toString('utf8')).catch((err: unknown) =>
        this.#o.logger.error({ err: messageOf(err), sequence: m.sequence }, 'bundle: the server sent a bundle the agent cannot use'),
      );
    });
    call.on('error', (err: Error) => {
      if (this.#call === call) this.#failed(err);
    });
    call.on('end', () => {
      if (this.#call === call) this.#failed(new Error('the server ended the bundle stream'));
    });
  }

  #failed(err: unknown): void {
    this.#call = undefined;
    if (!this.#running) return;
    this.#o.onError(err);
    const delay = this.#backoff.next();
    this.#o.logger.debug({ err: messageOf(err), retryInMs: delay }, 'bundle: bundle stream lost; reconnecting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect();
    }, delay);
  }
}
