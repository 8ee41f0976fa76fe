/**
 * One server stream of full-state messages, and the budget all streams share.
 *
 * Each message replaces the last, so a caller reading slowly is sent only the newest state once it
 * catches up, never a queue of states it would discard; an update equal to what the caller already
 * has is not sent again.
 *
 * grpc-js copies every message it sends into a frame of its own, so a response shared by a hundred
 * callers still costs a hundred copies while they drain to the sockets (a 1.2 MB response: 120 MB).
 * The WriteBudget caps the bytes handed to grpc-js and not yet written out, across all streams:
 * beyond it, streams wait their turn, and memory stops growing with callers × response size. A
 * grant is taken back after `holdMs` even if its write has not finished, so callers that stop
 * reading cannot hold the budget and stall everyone else.
 */
import type { RpcStatus } from './status.js';

export class WriteBudget {
  readonly limitBytes: number;
  readonly holdMs: number;
  #inFlight = 0;
  readonly #waiting: { bytes: number; grant: (release: () => void) => void }[] = [];

  constructor(limitBytes: number, holdMs: number) {
    this.limitBytes = limitBytes;
    this.holdMs = holdMs;
  }

  /** Bytes granted and not yet released. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Calls `grant` (at once or later, in arrival order) with a release function to call when the
   * bytes are written. A message larger than the whole budget goes when nothing else is in flight.
   */
  acquire(bytes: number, grant: (release: () => void) => void): void {
    if (this.#waiting.length === 0 && this.#fits(bytes)) this.#grant(bytes, grant);
    else this.#waiting.push({ bytes, grant });
  }

  #fits(bytes: number): boolean {
    return this.#inFlight === 0 || this.#inFlight + bytes <= this.limitBytes;
  }

  #grant(bytes: number, grant: (release: () => void) => void): void {
    this.#inFlight += bytes;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.#inFlight -= bytes;
      this.#drain();
    };
    const timer = setTimeout(release, this.holdMs);
    timer.unref();
    grant(release);
  }

  #drain(): void {
    for (let next = this.#waiting[0]; next !== undefined && this.#fits(next.bytes); next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#grant(next.bytes, next.grant);
    }
  }
}

/** What a stream needs of a grpc-js server call: server streams and bidi streams both have it. */
export interface WritableCall {
  readonly cancelled: boolean;
  write(chunk: Buffer, cb: () => void): boolean;
  end(): void;
  emit(event: 'error', status: { code: number; details: string }): boolean;
  once(event: 'cancelled', listener: () => void): unknown;
}

export class LatestWinsStream {
  readonly #call: WritableCall;
  readonly #budget: WriteBudget;
  /** A message is granted or being written; the next waits in #pending. */
  #busy = false;
  #pending: { bytes: Buffer; onWrite: (() => void) | undefined } | undefined;
  #last: Buffer | undefined;
  #release: (() => void) | undefined;
  #closed = false;
  readonly #onClose: (() => void)[] = [];

  constructor(call: WritableCall, budget: WriteBudget) {
    this.#call = call;
    this.#budget = budget;
    // The client went away (cancel, deadline, connection lost) or the server is shutting down.
    call.once('cancelled', () => this.#close());
  }

  /** Whether anything has been sent (or is about to be). */
  get sentAny(): boolean {
    return this.#last !== undefined;
  }

  get closed(): boolean {
    return this.#closed || this.#call.cancelled;
  }

  /** Runs once when the stream ends, for whatever reason. */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.#onClose.push(fn);
  }

  /**
   * `onWrite` runs when these bytes are handed to the call, never when a newer message replaces
   * them first: a sender whose messages are not full states (Delta xDS) folds what was not written
   * into its next message.
   */
  send(bytes: Buffer, onWrite?: () => void): void {
    if (this.closed) return;
    if (this.#last !== undefined && (this.#last === bytes || this.#last.equals(bytes))) return;
    this.#last = bytes;
    this.#pending = { bytes, onWrite };
    this.#pump();
  }

  /** Ends the stream: OK when `status` is absent. */
  end(status?: RpcStatus): void {
    if (this.closed) return;
    this.#close();
    if (status === undefined) this.#call.end();
    // grpc-js turns an 'error' event on a server stream into its final status (after queued writes).
    else this.#call.emit('error', { code: status.code, details: status.details });
  }

  #pump(): void {
    const first = this.#pending;
    if (this.#busy || first === undefined || this.closed) return;
    this.#busy = true;
    this.#budget.acquire(first.bytes.length, (release) => {
      // Whatever is newest when the turn comes is what goes.
      const next = this.#pending;
      this.#pending = undefined;
      if (next === undefined || this.closed) {
        release();
        this.#busy = false;
        return;
      }
      this.#release = release;
      next.onWrite?.();
      // grpc-js calls back once the frame is written out, and never for a cancelled call, which is
      // why #close releases too.
      this.#call.write(next.bytes, () => {
        release();
        this.#release = undefined;
        this.#busy = false;
        this.#pump();
      });
    });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = undefined;
    this.#release?.();
    this.#release = undefined;
    for (const fn of this.#onClose.splice(0)) fn();
  }
}
