/**
 * Pull-style reading of a client stream (Attest's requests): `next()` resolves with the next
 * message, or undefined once the client has finished sending or the call is gone.
 */
import type { Readable } from 'node:stream';

export class StreamReader<T> {
  readonly #queue: T[] = [];
  #waiter: ((message: T | undefined) => void) | undefined;
  #ended = false;

  constructor(stream: Readable & { on(event: 'cancelled', listener: () => void): unknown }) {
    stream.on('data', (message: T) => {
      if (this.#waiter !== undefined) this.#take()(message);
      else this.#queue.push(message);
    });
    const end = (): void => {
      this.#ended = true;
      if (this.#waiter !== undefined) this.#take()(undefined);
    };
    stream.on('end', end);
    stream.on('cancelled', end);
    stream.on('close', end);
  }

  next(): Promise<T | undefined> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift());
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  #take(): (message: T | undefined) => void {
    const waiter = this.#waiter!;
    this.#waiter = undefined;
    return waiter;
  }
}
