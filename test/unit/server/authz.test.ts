/**
 * The authorization index against the fixpoint reference: on random graphs, through random
 * sequences of changes in random batches (the pushed updates must rebuild exactly the set), and
 * when resuming from any point of that history.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AuthorizedEntries, type EntryUpdate } from '../../../server/authz/authorized-entries.js';
import { EntryGraph, selectorKey } from '../../../server/authz/graph.js';
import type { AttestedAgent, RegistrationEntry } from '../../../server/datastore/types.js';
import {
  AGENTS, graphArb, makeAgent, makeEntry, opArb, reference, SERVER_ID, WORKLOADS, type Op,
} from './authz-fixtures.test.js';

const keys = (m: ReadonlyMap<string, unknown>): string[] => [...m.keys()].sort();
const sorted = (s: Set<string>): string[] => [...s].sort();

function newIndex(): AuthorizedEntries {
  return new AuthorizedEntries(SERVER_ID, {
    onListenerError: (err) => {
      throw err;
    },
  });
}

describe('authz: entry graph', () => {
  const agent = AGENTS[0]!;

  it('walks descendants of descendants, stops at cycles, and never walks the server ID', () => {
    const g = new EntryGraph(SERVER_ID);
    g.upsert(makeEntry('e1', WORKLOADS[0]!, agent, []));
    g.upsert(makeEntry('e2', WORKLOADS[1]!, WORKLOADS[0]!, []));
    g.upsert(makeEntry('e3', WORKLOADS[0]!, WORKLOADS[1]!, [])); // a cycle back to w0
    g.upsert(makeEntry('e4', SERVER_ID, WORKLOADS[1]!, [])); // names the server: must not open the aliases
    g.upsert(makeEntry('alias', WORKLOADS[5]!, SERVER_ID, [{ type: 'tpm', value: 'a' }]));
    g.upsert(makeEntry('e5', WORKLOADS[6]!, WORKLOADS[5]!, []));
    const res = g.authorized(agent, new Set());
    assert.deepEqual(keys(res.entries), ['e1', 'e2', 'e3', 'e4']);
    assert.ok(!res.reached.has(SERVER_ID));
  });

  it('matches aliases whose selectors are all among the node selectors, and does not return them', () => {
    const g = new EntryGraph(SERVER_ID);
    const a = { type: 'tpm', value: 'a' };
    const b = { type: 'tpm', value: 'b' };
    g.upsert(makeEntry('ab', WORKLOADS[0]!, SERVER_ID, [a, b]));
    g.upsert(makeEntry('a', WORKLOADS[1]!, SERVER_ID, [a]));
    g.upsert(makeEntry('under-ab', WORKLOADS[2]!, WORKLOADS[0]!, []));
    g.upsert(makeEntry('under-a', WORKLOADS[3]!, WORKLOADS[1]!, []));
    assert.deepEqual(keys(g.authorized(agent, new Set([selectorKey(a)])).entries), ['under-a']);
    assert.deepEqual(keys(g.authorized(agent, new Set([selectorKey(a), selectorKey(b)])).entries), ['under-a', 'under-ab']);
    g.delete('a');
    assert.deepEqual(g.matchingAliases(new Set([selectorKey(a)])), []);
  });

  it('equals the fixpoint reference on random graphs', () => {
    fc.assert(
      fc.property(graphArb, ({ entries, agents }) => {
        const index = newIndex();
        index.replaceAll({ entries, agents, eventId: 1 });
        for (const a of agents) assert.deepEqual(keys(index.lookup(a.spiffeId)), sorted(reference(entries, a.spiffeId, a.selectors)));
        index.close();
      }),
      { numRuns: 300 },
    );
  });
});

/** The model a sequence of operations acts on, standing in for the datastore. */
class Model {
  readonly entries = new Map<string, RegistrationEntry>();
  readonly agents: AttestedAgent[];
  #next = 0;

  constructor(entries: RegistrationEntry[], agents: AttestedAgent[]) {
    for (const e of entries) this.entries.set(e.id, e);
    this.#next = entries.length;
    this.agents = agents;
  }

  /** Applies `op`; returns the changed key and kind. */
  apply(op: Op): { kind: 'entry' | 'agent'; key: string } | undefined {
    const ids = [...this.entries.keys()];
    switch (op.kind) {
      case 'create': {
        const id = `n${this.#next++}`;
        this.entries.set(id, makeEntry(id, op.shape.spiffeId, op.shape.parentId, op.shape.selectors));
        return { kind: 'entry', key: id };
      }
      case 'update': {
        if (ids.length === 0) return undefined;
        const old = this.entries.get(ids[op.pick % ids.length]!)!;
        this.entries.set(old.id, makeEntry(old.id, op.shape.spiffeId, op.shape.parentId, op.shape.selectors, old.revision + 1));
        return { kind: 'entry', key: old.id };
      }
      case 'delete': {
        if (ids.length === 0) return undefined;
        const id = ids[op.pick % ids.length]!;
        this.entries.delete(id);
        return { kind: 'entry', key: id };
      }
      case 'agent':
        this.agents[op.agent] = makeAgent(AGENTS[op.agent]!, op.selectors);
        return { kind: 'agent', key: AGENTS[op.agent]! };
    }
  }

  expected(agent: number): Set<string> {
    return reference(this.entries.values(), AGENTS[agent]!, this.agents[agent]!.selectors);
  }
}

/** What an agent holds, built only from what it was sent. */
function applyUpdate(held: Map<string, RegistrationEntry>, u: Pick<EntryUpdate, 'upserted' | 'removedIds'>): void {
  for (const id of u.removedIds) held.delete(id);
  for (const e of u.upserted) held.set(e.id, e);
}

describe('authz: incremental updates', () => {
  it('pushes updates that rebuild exactly the reference set, batch after batch, and resume from any batch', () => {
    fc.assert(
      fc.property(graphArb, fc.array(fc.array(opArb, { minLength: 1, maxLength: 6 }), { maxLength: 12 }), fc.nat(), (g, batches, resumePick) => {
        const model = new Model(g.entries, g.agents);
        const index = newIndex();
        index.replaceAll({ entries: g.entries, agents: g.agents, eventId: 1 });
        const held = AGENTS.map(() => new Map<string, RegistrationEntry>());
        const updates = AGENTS.map(() => 0);
        AGENTS.forEach((agentId, i) => {
          const { start } = index.subscribe(agentId, 0, (u) => {
            applyUpdate(held[i]!, u);
            updates[i]!++;
          });
          assert.equal(start.kind, 'full');
          if (start.kind === 'full') for (const e of start.entries) held[i]!.set(e.id, e);
        });
        const snapshots: { eventId: number; held: Map<string, RegistrationEntry>[] }[] = [];
        let eventId = 1;
        for (const batch of batches) {
          const touched = new Map<string, 'entry' | 'agent'>();
          for (const op of batch) {
            const t = model.apply(op);
            if (t) touched.set(`${t.kind}\u0000${t.key}`, t.kind);
          }
          eventId += batch.length;
          const before = [...updates];
          index.apply({
            entries: [...touched].filter(([, k]) => k === 'entry').map(([key]) => {
              const id = key.split('\u0000')[1]!;
              return { key: id, after: model.entries.get(id) };
            }),
            agents: [...touched].filter(([, k]) => k === 'agent').map(([key]) => {
              const id = key.split('\u0000')[1]!;
              return { key: id, after: model.agents[AGENTS.indexOf(id)] };
            }),
            eventId,
            maxEventId: eventId,
          });
          AGENTS.forEach((agentId, i) => {
            const expected = sorted(model.expected(i));
            assert.deepEqual(keys(held[i]!), expected, `agent ${i} holds exactly its set after event ${eventId}`);
            assert.deepEqual(keys(index.lookup(agentId)), expected);
            for (const [id, e] of held[i]!) assert.equal(e.revision, model.entries.get(id)!.revision, `entry ${id} is current`);
            assert.ok(updates[i]! - before[i]! <= 1, 'at most one update per agent per batch');
          });
          snapshots.push({ eventId, held: held.map((h) => new Map(h)) });
        }
        if (snapshots.length === 0) return;
        const from = snapshots[resumePick % snapshots.length]!;
        AGENTS.forEach((agentId, i) => {
          const { start, unsubscribe } = index.subscribe(agentId, from.eventId, () => undefined);
          unsubscribe();
          assert.equal(start.kind, 'update', 'the history reaches back to every batch');
          if (start.kind !== 'update') return;
          const resumed = new Map(from.held[i]!);
          applyUpdate(resumed, start);
          assert.deepEqual(keys(resumed), sorted(model.expected(i)));
          for (const [id, e] of resumed) assert.equal(e.revision, model.entries.get(id)!.revision);
        });
        index.close();
      }),
      { numRuns: 500 },
    );
  });

  it('falls back to the full set when the history no longer reaches back', () => {
    const index = new AuthorizedEntries(SERVER_ID, { maxHistoryIds: 2, onListenerError: () => assert.fail() });
    index.replaceAll({ entries: [], agents: [makeAgent(AGENTS[0]!, [])], eventId: 1 });
    index.subscribe(AGENTS[0]!, 0, () => undefined);
    for (let i = 0; i < 3; i++) {
      index.apply({ entries: [{ key: `e${i}`, after: makeEntry(`e${i}`, WORKLOADS[i]!, AGENTS[0]!, []) }], agents: [], eventId: 2 + i, maxEventId: 2 + i });
    }
    assert.equal(index.subscribe(AGENTS[0]!, 1, () => undefined).start.kind, 'full', 'the change of event 2 fell out of the history');
    const resumed = index.subscribe(AGENTS[0]!, 2, () => undefined).start;
    assert.equal(resumed.kind, 'update');
    assert.deepEqual(resumed.kind === 'update' && resumed.upserted.map((e) => e.id), ['e1', 'e2']);
    assert.equal(index.subscribe(AGENTS[0]!, 99, () => undefined).start.kind, 'full', 'an id this server has not reached');
    index.close();
  });

  it('reports banned and deleted agents, and forgets them', () => {
    const index = newIndex();
    index.replaceAll({ entries: [makeEntry('e', WORKLOADS[0]!, AGENTS[0]!, [])], agents: AGENTS.map((a) => makeAgent(a, [])), eventId: 1 });
    let pushed = 0;
    index.subscribe(AGENTS[0]!, 0, () => pushed++);
    const revoked = index.apply({
      entries: [],
      agents: [{ key: AGENTS[0]!, after: makeAgent(AGENTS[0]!, [], true) }, { key: AGENTS[1]!, after: undefined }],
      eventId: 2,
      maxEventId: 2,
    });
    assert.deepEqual(revoked, [{ agentId: AGENTS[0], reason: 'banned' }, { agentId: AGENTS[1], reason: 'evicted' }]);
    assert.equal(index.trackedAgents, 0);
    assert.equal(index.isActive(AGENTS[0]!), false);
    index.noteAgent(makeAgent(AGENTS[1]!, []));
    assert.equal(index.isActive(AGENTS[1]!), false, 'a stale record read before the eviction does not bring it back');
    index.attested(makeAgent(AGENTS[1]!, []));
    assert.equal(index.isActive(AGENTS[1]!), true, 'attesting again does');
    assert.equal(pushed, 0);
    index.close();
  });
});
