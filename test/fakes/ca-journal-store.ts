/** An in-memory CaJournalStore for CA tests. */
import type { CaJournalStore } from '../../server/datastore/datastore.js';
import type { CaJournal } from '../../server/datastore/types.js';

export class FakeCaJournalStore implements CaJournalStore {
  readonly #journals = new Map<string, CaJournal>();
  puts = 0;

  async get(serverInstanceId: string): Promise<CaJournal | undefined> {
    const j = this.#journals.get(serverInstanceId);
    return j === undefined ? undefined : { ...j };
  }

  async list(): Promise<CaJournal[]> {
    return [...this.#journals.values()].map((j) => ({ ...j }));
  }

  async put(serverInstanceId: string, data: string): Promise<CaJournal> {
    const journal = { serverInstanceId, data, updatedAt: Math.floor(Date.now() / 1000) };
    this.#journals.set(serverInstanceId, journal);
    this.puts++;
    return { ...journal };
  }
}
