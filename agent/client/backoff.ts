/**
 * Retry timing for everything that talks to the server (reconnecting streams, failed mints,
 * renewal): exponential with ±20 % jitter, so agents that lost the same server do not all return
 * in the same instant, and reset by the caller after a success.
 */

export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const plain = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(plain * (0.8 + 0.4 * random()));
}

/** Counts consecutive failures and says how long to wait before the next try. */
export class Backoff {
  #attempt = 0;

  constructor(
    readonly baseMs: number,
    readonly maxMs: number,
  ) {}

  get attempts(): number {
    return this.#attempt;
  }

  next(): number {
    return backoffMs(this.#attempt++, this.baseMs, this.maxMs);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
