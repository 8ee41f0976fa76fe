/**
 * The common life of a server stream that pushes to one agent (SyncEntries, WatchBundle): it is
 * registered so that a ban or eviction ends it, it is torn down exactly once however it ends, and
 * an agent that stops reading is cut off rather than allowed to grow the server's memory.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { failStream } from './calls.js';
import { AgentApiError, AgentApiErrorCode } from './errors.js';
import type { StreamRegistry } from './streams.js';

export class PushedStream<Res> {
  readonly #call: ServerWritableStream<unknown, Res>;
  readonly #maxQueued: number;
  readonly #cleanups: (() => void)[] = [];
  #closed = false;

  constructor(call: ServerWritableStream<unknown, Res>, agentId: string, streams: StreamRegistry, maxQueued: number) {
    this.#call = call;
    this.#maxQueued = maxQueued;
    this.#cleanups.push(streams.add({ agentId, close: (err) => this.fail(err) }));
    const ended = (): void => this.#teardown();
    call.on('cancelled', ended);
    call.on('finish', ended);
    call.on('close', ended);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs `fn` when the stream ends (unsubscribe from whatever feeds it). */
  onClose(fn: () => void): void {
    if (this.#closed) fn();
    else this.#cleanups.push(fn);
  }

  send(message: Res): void {
    if (this.#closed) return;
    if (this.#call.writableLength >= this.#maxQueued) {
      this.fail(
        new AgentApiError(
          AgentApiErrorCode.tooLarge,
          `${this.#maxQueued} messages are waiting for the agent to read them: reconnect and resume`,
        ),
      );
      return;
    }
    this.#call.write(message);
  }

  /** Ends the stream with `err`'s status after what is already queued. */
  fail(err: unknown): void {
    if (this.#closed) return;
    this.#teardown();
    failStream(this.#call, err);
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fn of this.#cleanups.splice(0)) fn();
  }
}
