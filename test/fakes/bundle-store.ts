/**
 * An in-memory BundleStore for CA tests: update() calls run one at a time, as the row lock of the
 * real stores makes them, and every write is recorded so tests can count sequence steps.
 */
import type { BundleStore } from '../../server/datastore/datastore.js';
import type { StoredBundle } from '../../server/datastore/types.js';

export class FakeBundleStore implements BundleStore {
  readonly #bundles = new Map<string, StoredBundle>();
  #lock: Promise<unknown> = Promise.resolve();
  /** Every bundle written, in order. */
  readonly writes: StoredBundle[] = [];

  async get(trustDomain: string): Promise<StoredBundle | undefined> {
    const b = this.#bundles.get(trustDomain);
    return b === undefined ? undefined : { ...b };
  }

  async list(): Promise<StoredBundle[]> {
    return [...this.#bundles.values()].map((b) => ({ ...b }));
  }

  update(
    trustDomain: string,
    fn: (current: StoredBundle | undefined) => StoredBundle | undefined,
  ): Promise<StoredBundle | undefined> {
    const run = async (): Promise<StoredBundle | undefined> => {
      const current = this.#bundles.get(trustDomain);
      const next = fn(current === undefined ? undefined : { ...current });
      if (next === undefined) return current === undefined ? undefined : { ...current };
      if (next.trustDomain !== trustDomain) throw new Error(`update of ${trustDomain} returned a bundle of ${next.trustDomain}`);
      this.#bundles.set(trustDomain, { ...next });
      this.writes.push({ ...next });
      return { ...next };
    };
    const result = this.#lock.then(run);
    this.#lock = result.catch(() => undefined);
    return result;
  }

  async delete(trustDomain: string): Promise<void> {
    this.#bundles.delete(trustDomain);
  }

  /** Stores a document as-is, bypassing update(): for tests that start from a given bundle. */
  seed(bundle: StoredBundle): void {
    this.#bundles.set(bundle.trustDomain, { ...bundle });
  }
}
