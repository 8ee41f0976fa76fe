/**
 * When the identity cache tells its subscribers: once per event-loop turn after a change (so a
 * burst applied together is one update), except while a minting burst holds flushes — then gains
 * wait until the last hold is released or `maxHoldMs` has passed since the first waiting change,
 * so a caller sees 1,000 new SVIDs as one full set rather than one per batch. Urgent changes
 * (losses, bundle changes) never wait, and take whatever else is pending with them.
 */
export class FlushScheduler {
  readonly #run: () => void;
  readonly #maxHoldMs: number;
  #pending = false;
  #urgent = false;
  #queued = false;
  #holds = 0;
  #holdTimer: NodeJS.Timeout | undefined;
  #holdExpired = false;
  #closed = false;

  constructor(run: () => void, maxHoldMs: number) {
    this.#run = run;
    this.#maxHoldMs = maxHoldMs;
  }

  changed(urgent: boolean): void {
    this.#pending = true;
    if (urgent) this.#urgent = true;
    if (urgent || this.#holds === 0) this.#queue();
    else this.#armHold();
  }

  /** Holds non-urgent flushes; returns the release (calling it twice releases once). */
  hold(): () => void {
    this.#holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0 && this.#pending) this.#queue();
    };
  }

  close(): void {
    this.#closed = true;
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
  }

  #queue(): void {
    if (this.#queued || this.#closed) return;
    this.#queued = true;
    setImmediate(() => this.#tick());
  }

  #armHold(): void {
    this.#holdTimer ??= setTimeout(() => {
      this.#holdTimer = undefined;
      this.#holdExpired = true;
      this.#queue();
    }, this.#maxHoldMs);
  }

  #tick(): void {
    this.#queued = false;
    if (!this.#pending || this.#closed) return;
    if (this.#holds > 0 && !this.#urgent && !this.#holdExpired) {
      // Queued before the burst began: its gains wait with the burst's.
      this.#armHold();
      return;
    }
    this.#pending = this.#urgent = this.#holdExpired = false;
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#run();
  }
}
