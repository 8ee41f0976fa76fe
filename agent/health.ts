/**
 * What the agent says about itself: live (not stopped by a fatal error), ready (attested and its
 * first entry sync applied), and in the detail whether it is degraded — serving cached SVIDs while
 * the server cannot be reached. Ready stays true while degraded: workloads are still answered from
 * the cache until their SVIDs expire, which the detail says, with when the first one will.
 * Transitions between reachable and unreachable are logged once each, not on every retry.
 */
import { messageOf } from '../spiffe/errors.js';
import { isTransient } from './client/errors.js';
import type { Logger } from './logger.js';

export interface HealthReport {
  ready: boolean;
  live: boolean;
  detail: string;
}

export interface CacheStats {
  identities: number;
  /** Unix seconds of the first SVID to expire, if any. */
  earliestExpiry: number | undefined;
}

export class AgentHealth {
  readonly #server: string;
  readonly #logger: Logger;
  readonly #stats: () => CacheStats;
  #agentId: string | undefined;
  #synced = false;
  #unreachableSince: Date | undefined;
  #lastError = '';
  #fatal: string | undefined;
  #stopped = false;

  constructor(o: { serverAddress: string; logger: Logger; stats: () => CacheStats }) {
    this.#server = o.serverAddress;
    this.#logger = o.logger;
    this.#stats = o.stats;
  }

  get degraded(): boolean {
    return this.#unreachableSince !== undefined;
  }

  attested(agentId: string): void {
    this.#agentId = agentId;
  }

  synced(): void {
    this.#synced = true;
  }

  /** A call to the server got through. */
  reachable(): void {
    if (this.#unreachableSince === undefined) return;
    const downMs = Date.now() - this.#unreachableSince.getTime();
    this.#unreachableSince = undefined;
    this.#logger.info({ server: this.#server, downMs }, 'agent: the server is reachable again');
  }

  /** A call failed; only failures that mean "cannot reach the server" count. */
  failed(err: unknown): void {
    if (!isTransient(err)) return;
    this.#lastError = messageOf(err);
    if (this.#unreachableSince !== undefined) return;
    this.#unreachableSince = new Date();
    const { identities, earliestExpiry } = this.#stats();
    this.#logger.warn(
      { server: this.#server, err: this.#lastError, cachedSvids: identities, firstExpiry: earliestExpiry && iso(earliestExpiry) },
      'agent: the server is unreachable; serving cached SVIDs until they expire',
    );
  }

  fatal(message: string): void {
    this.#fatal = message;
  }

  stopped(): void {
    this.#stopped = true;
  }

  report(): HealthReport {
    if (this.#fatal !== undefined) return { ready: false, live: false, detail: `stopped: ${this.#fatal}` };
    if (this.#stopped) return { ready: false, live: false, detail: 'stopped' };
    if (this.#agentId === undefined) return { ready: false, live: true, detail: `not ready: attesting to the server at ${this.#server}` };
    const { identities, earliestExpiry } = this.#stats();
    if (this.#unreachableSince !== undefined) {
      const expiry = earliestExpiry === undefined ? '' : ` (the first expires at ${iso(earliestExpiry)})`;
      const state = this.#synced ? 'ready' : 'not ready';
      return {
        ready: this.#synced,
        live: true,
        detail:
          `${state}, degraded: the server at ${this.#server} is unreachable since ${this.#unreachableSince.toISOString()} ` +
          `(${this.#lastError}); serving ${identities} cached SVIDs until they expire${expiry}`,
      };
    }
    if (!this.#synced) return { ready: false, live: true, detail: `not ready: waiting for the first entry sync from ${this.#server}` };
    return { ready: true, live: true, detail: `ready: ${this.#agentId}, ${identities} SVIDs cached, server ${this.#server} reachable` };
  }
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}
