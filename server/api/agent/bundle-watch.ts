/**
 * The trust domain's bundle as this server last read it, re-read when the change feed says it
 * changed. Peer authentication verifies against it (no database read per call), the TLS listener
 * requests client certificates against its roots, and WatchBundle streams push it.
 */
import type { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { messageOf } from '../../../spiffe/errors.js';
import type { ServerCa } from '../../ca/index.js';
import type { Logger } from './logger.js';

export interface BundleSnapshot {
  bundle: SpiffeBundle;
  /** The SPIFFE bundle JSON, as sent to agents. */
  document: Buffer;
  sequence: bigint;
}

type Listener = (snapshot: BundleSnapshot) => void;

export class BundleWatch {
  readonly #ca: Pick<ServerCa, 'bundle'>;
  readonly #logger: Logger;
  readonly #listeners = new Set<Listener>();
  #current: BundleSnapshot;
  #reading: Promise<void> | undefined;
  #again = false;

  private constructor(ca: Pick<ServerCa, 'bundle'>, logger: Logger, current: BundleSnapshot) {
    this.#ca = ca;
    this.#logger = logger;
    this.#current = current;
  }

  static async start(ca: Pick<ServerCa, 'bundle'>, logger: Logger): Promise<BundleWatch> {
    return new BundleWatch(ca, logger, snapshot(await ca.bundle()));
  }

  get current(): BundleSnapshot {
    return this.#current;
  }

  /** Calls `listener` with every new bundle; returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reads the bundle again (once more if asked while reading); listeners hear of a change. */
  refresh(): Promise<void> {
    if (this.#reading !== undefined) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    let next: BundleSnapshot;
    try {
      next = snapshot(await this.#ca.bundle());
    } catch (err) {
      // The next bundle event reads it again; until then agents keep the bundle they have.
      this.#logger.error({ err: messageOf(err) }, 'agentapi: reading the trust bundle failed');
      return;
    }
    if (next.document.equals(this.#current.document)) return;
    this.#current = next;
    for (const listener of [...this.#listeners]) {
      try {
        listener(next);
      } catch (err) {
        this.#logger.error({ err: messageOf(err) }, 'agentapi: a bundle listener failed');
      }
    }
  }
}

function snapshot(bundle: SpiffeBundle): BundleSnapshot {
  return { bundle, document: Buffer.from(bundle.marshal()), sequence: bundle.sequenceNumber ?? 0n };
}
