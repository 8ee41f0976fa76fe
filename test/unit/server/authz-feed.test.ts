/**
 * The feed that keeps the index current, on a fake event log: a batch of events becomes one index
 * update, and a failed read is logged and recovered by reading everything again.
 */
import assert from 'node:assert/strict';
import { AuthorizedEntries, type EntryUpdate } from '../../../server/authz/authorized-entries.js';
import { AuthzFeed, type FeedLogger } from '../../../server/authz/feed.js';
import type { Datastore } from '../../../server/datastore/datastore.js';
import type { AttestedAgent, ChangeEvent, RegistrationEntry } from '../../../server/datastore/types.js';
import { AGENTS, makeAgent, makeEntry, SERVER_ID, WORKLOADS } from './authz-fixtures.test.js';

class FakeStore {
  readonly entries = new Map<string, RegistrationEntry>();
  readonly agents = new Map<string, AttestedAgent>();
  readonly log: ChangeEvent[] = [];
  failGets = 0;
  #listeners = new Set<() => void>();

  view(): Pick<Datastore, 'entries' | 'agents' | 'events'> {
    const get = async <T>(m: Map<string, T>, key: string): Promise<T | undefined> => {
      if (this.failGets > 0) {
        this.failGets--;
        throw new Error('datastore: connection lost');
      }
      return m.get(key);
    };
    return {
      entries: { get: (id: string) => get(this.entries, id), list: async () => ({ items: [...this.entries.values()] }) },
      agents: { get: (id: string) => get(this.agents, id), list: async () => ({ items: [...this.agents.values()] }) },
      events: {
        latestId: async () => this.log.length,
        since: async (after: number, limit = 1000) => this.log.filter((e) => e.id > after).slice(0, limit),
        onChange: (l: () => void) => {
          this.#listeners.add(l);
          return () => this.#listeners.delete(l);
        },
      },
    } as unknown as Pick<Datastore, 'entries' | 'agents' | 'events'>;
  }

  commit(changes: { kind: 'entry' | 'agent'; key: string }[]): void {
    for (const c of changes) this.log.push({ id: this.log.length + 1, kind: c.kind, key: c.key, op: 'upsert', at: 0 });
    for (const l of this.#listeners) l();
  }
}

class Lines implements FeedLogger {
  readonly lines: string[] = [];
  info(): void {}
  warn(_f: object, m: string): void {
    this.lines.push(m);
  }
  error(_f: object, m: string): void {
    this.lines.push(m);
  }
}

const until = async (what: string, check: () => boolean, ms = 3000): Promise<void> => {
  for (const start = Date.now(); !check(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
  }
};

describe('authz: change feed', () => {
  it('applies a burst as one update, and recovers from a failed read by reading everything again', async () => {
    const store = new FakeStore();
    store.agents.set(AGENTS[0]!, makeAgent(AGENTS[0]!, []));
    const index = new AuthorizedEntries(SERVER_ID, { onListenerError: (err) => assert.fail(String(err)) });
    const logger = new Lines();
    const feed = await AuthzFeed.start({ datastore: store.view(), index, logger, onRevoked: () => undefined, onBundleChanged: () => undefined });
    const updates: EntryUpdate[] = [];
    try {
      const { start } = index.subscribe(AGENTS[0]!, 0, (u) => updates.push(u));
      assert.deepEqual(start.kind === 'full' && start.entries, []);

      for (let i = 0; i < 3; i++) store.entries.set(`e${i}`, makeEntry(`e${i}`, WORKLOADS[i]!, AGENTS[0]!, []));
      store.commit([0, 1, 2].map((i) => ({ kind: 'entry', key: `e${i}` })));
      await until('pushed', () => updates.length > 0);
      assert.equal(updates.length, 1);
      assert.deepEqual(updates[0]!.upserted.map((e) => e.id).sort(), ['e0', 'e1', 'e2']);
      assert.equal(updates[0]!.eventId, 3);

      store.failGets = 1;
      store.entries.set('e3', makeEntry('e3', WORKLOADS[3]!, AGENTS[0]!, []));
      store.commit([{ kind: 'entry', key: 'e3' }]);
      await until('recovered', () => updates.length === 2, 3000);
      assert.deepEqual(updates[1]!.upserted.map((e) => e.id), ['e3']);
      assert.deepEqual(logger.lines, ['authz: applying changes failed; reading everything again in 1000 ms']);
    } finally {
      feed.stop();
      index.close();
    }
  });
});
