import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { EventTail } from '../../../server/datastore/event-tail.js';
import type { ChangeEvent } from '../../../server/datastore/types.js';
import { TD, eventually, newAgent, newEntry, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

export const WRITER = fileURLToPath(new URL('../../fixtures/datastore/writer.js', import.meta.url));
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Subscribes and counts wake-ups. */
function hear(ds: Datastore): { count: () => number; stop: () => void } {
  let n = 0;
  const stop = ds.events.onChange(() => n++);
  return { count: () => n, stop };
}

/** A tail that records each delivery. */
function tail(ds: Datastore, fromId = 0): { deliveries: ChangeEvent[][]; ids: () => number[]; tail: EventTail } {
  const deliveries: ChangeEvent[][] = [];
  const t = new EventTail(ds.events, { fromId, gapRecheckMs: 50 });
  t.on('events', (events) => deliveries.push(events));
  return { deliveries, ids: () => deliveries.flat().map((e) => e.id), tail: t };
}

/**
 * Writes through `write` until `heard` reports the change arrived: a subscription set up just now
 * (a LISTEN connection, a poller's first reading) may miss a write made at the same moment.
 */
async function untilHeard(heard: () => boolean, write: (i: number) => Promise<unknown>, ms: number): Promise<void> {
  for (let i = 0; i < 10 && !heard(); i++) {
    await write(i);
    const start = Date.now();
    while (!heard() && Date.now() - start < ms) await sleep(20);
  }
  assert.ok(heard(), 'the change was never heard');
}

/** A datastore whose entry creations stop just before COMMIT until released. */
async function held(open: () => Promise<Datastore>, setHooks: (h: (op: string) => Promise<void>) => void) {
  let release!: () => void;
  let reached!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const atCommit = new Promise<void>((r) => (reached = r));
  setHooks(async (op) => {
    if (op !== 'entries.create') return;
    reached();
    await gate;
  });
  return { ds: await open(), release, atCommit };
}

export function eventsSuite(target: DatastoreTarget): void {
  describe('change events', () => {
    const t = useDatastore(target);
    const holdingStore = () => {
      let hook: (op: string) => Promise<void> = async () => undefined;
      return held(() => t.open({ hooks: { beforeCommit: (op) => hook(op) } }), (h) => (hook = h));
    };

    it('every change appends an event, with ids that only go up', async () => {
      await t.ds.entries.create([newEntry({ id: 'e1' }), newEntry({ id: 'e2', spiffeId: `${TD}/2` })]);
      await t.ds.entries.update('e1', { hint: 'h' });
      await t.ds.agents.upsert(newAgent());
      await t.ds.bundles.update('example.org', () => ({ trustDomain: 'example.org', document: '{}', sequence: 1n }));
      await t.ds.entries.delete(['e2']);
      const events = await t.ds.events.since(0);
      assert.deepEqual(events.map((e) => [e.kind, e.key, e.op]), [
        ['entry', 'e1', 'upsert'],
        ['entry', 'e2', 'upsert'],
        ['entry', 'e1', 'upsert'],
        ['agent', newAgent().spiffeId, 'upsert'],
        ['bundle', 'example.org', 'upsert'],
        ['entry', 'e2', 'delete'],
      ]);
      assert.ok(events.every((e, i) => i === 0 || e.id > events[i - 1]!.id));
      assert.equal(await t.ds.events.latestId(), events[events.length - 1]!.id);
      const now = Math.floor(Date.now() / 1000);
      assert.ok(events.every((e) => e.at >= now - 5 && e.at <= now));
    });

    it('since reads oldest first, after an id, at most limit', async () => {
      await t.ds.entries.create(Array.from({ length: 5 }, (_, i) => newEntry({ id: `e${i}`, spiffeId: `${TD}/${i}` })));
      const all = await t.ds.events.since(0);
      assert.deepEqual((await t.ds.events.since(all[1]!.id, 2)).map((e) => e.key), ['e2', 'e3']);
      assert.deepEqual(await t.ds.events.since(all[4]!.id), []);
    });

    it('a change and its event become visible together, at commit, never before', async () => {
      const writer = await holdingStore();
      const write = writer.ds.entries.create([newEntry({ id: 'pending' })]);
      await writer.atCommit;
      assert.equal(await t.ds.events.latestId(), 0);
      assert.deepEqual(await t.ds.events.since(0), []);
      assert.equal(await t.ds.entries.get('pending'), undefined);
      writer.release();
      await write;
      assert.deepEqual((await t.ds.events.since(0)).map((e) => e.key), ['pending']);
      assert.notEqual(await t.ds.entries.get('pending'), undefined);
    });

    it('onChange fires after this datastore commits, not after a failed write, and stops on unsubscribe', async () => {
      await t.ds.entries.create([newEntry({ id: 'a' })]);
      const heard = hear(t.ds);
      await t.ds.entries.create([newEntry({ id: 'dup' })]).catch(() => undefined);
      await sleep(100);
      assert.equal(heard.count(), 0);
      await t.ds.entries.update('a', { hint: 'x' });
      await eventually('onChange after a commit', () => heard.count() > 0, 1000);
      heard.stop();
      const n = heard.count();
      await t.ds.entries.update('a', { hint: 'y' });
      await sleep(100);
      assert.equal(heard.count(), n);
    });

    it('pruneOlderThan drops old events but keeps the newest, so latestId never goes back', async () => {
      await t.ds.entries.create([newEntry({ id: 'a' }), newEntry({ id: 'b', spiffeId: `${TD}/b` })]);
      const latest = await t.ds.events.latestId();
      assert.equal(await t.ds.events.pruneOlderThan(0), 0);
      assert.equal(await t.ds.events.pruneOlderThan(Math.floor(Date.now() / 1000) + 10), 1);
      assert.equal(await t.ds.events.latestId(), latest);
      await t.ds.entries.update('a', { hint: 'x' });
      assert.ok((await t.ds.events.latestId()) > latest);
    });

    it('another datastore on the same database hears the change: onChange and EventTail within 3 s', async () => {
      const reader = await t.open();
      const heard = hear(reader);
      const followed = tail(reader);
      await sleep(100);
      await t.ds.entries.create([newEntry({ id: 'x' })]);
      const ms = await eventually('the other datastore hears the change', () => heard.count() > 0 && followed.ids().length === 1, 3000);
      assert.ok(ms < 3000);
      assert.deepEqual(followed.deliveries.flat().map((e) => e.key), ['x']);
      followed.tail.close();
    });

    if (target.kind === 'postgres') {
      it('LISTEN/NOTIFY alone carries a change between datastores (polling off), fast', async () => {
        const reader = await t.open({ events: { pollIntervalMs: 0 } });
        const heard = hear(reader);
        await untilHeard(() => heard.count() > 0, (i) => t.ds.entries.create([newEntry({ id: `n${i}`, spiffeId: `${TD}/${i}` })]), 500);
      });
    }

    if (target.kind === 'postgres') {
      it('LISTEN comes back after its connection is killed, and says so in the log', async () => {
        const logs: string[] = [];
        const logger = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m) };
        const reader = await t.open({ events: { pollIntervalMs: 0 }, logger });
        const heard = hear(reader);
        await untilHeard(() => heard.count() > 0, (i) => t.ds.entries.create([newEntry({ id: `before${i}`, spiffeId: `${TD}/b${i}` })]), 500);
        const schema = new URL(t.url).searchParams.get('schema')!;
        await target.exec(t.url, `select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN "sigil_changes_${schema}"'`);
        await eventually('the LISTEN connection failure is logged', () => logs.some((m) => /LISTEN connection failed/.test(m)), 3000);
        await eventually('the LISTEN connection is back', () => logs.some((m) => /listening for PostgreSQL change notifications again/.test(m)), 5000);
        await sleep(100); // the wake-up a reconnection sends, so it is not mistaken for the next change
        const before = heard.count();
        await untilHeard(() => heard.count() > before, (i) => t.ds.entries.create([newEntry({ id: `after${i}`, spiffeId: `${TD}/a${i}` })]), 500);
      });
    }

    it('polling alone carries a change between datastores (LISTEN off)', async () => {
      const reader = await t.open({ events: { listen: false, pollIntervalMs: 100 } });
      const heard = hear(reader);
      await untilHeard(() => heard.count() > 0, (i) => t.ds.entries.create([newEntry({ id: `p${i}`, spiffeId: `${TD}/${i}` })]), 1000);
    });

    it('a change made by another process reaches this one', async () => {
      const heard = hear(t.ds);
      const followed = tail(t.ds);
      await run(process.execPath, [WRITER, 'create', t.url, 'child'], { timeout: 20_000 });
      await eventually('the other process change', () => heard.count() > 0 && followed.ids().length === 1, 3000);
      assert.deepEqual(followed.deliveries.flat().map((e) => e.key), ['child-0']);
      followed.tail.close();
    });

    it('EventTail delivers every event once, in id order per delivery, when a lower id commits after a higher one', async () => {
      const slow = await holdingStore();
      const followed = tail(await t.open());
      const slowWrite = slow.ds.entries.create([newEntry({ id: 'slow' })]);
      await slow.atCommit;
      const fastWrite = t.ds.entries.create([newEntry({ id: 'fast', spiffeId: `${TD}/fast` })]);
      if (target.kind === 'postgres') {
        await fastWrite;
        await eventually('the later id, committed first', () => followed.ids().length === 1, 3000);
      }
      slow.release();
      await Promise.all([slowWrite, fastWrite]);
      await eventually('both events', () => followed.ids().length === 2, 3000);
      await sleep(200);
      const committed = (await t.ds.events.since(0)).map((e) => e.id);
      assert.deepEqual([...followed.ids()].sort((a, b) => a - b), committed);
      for (const d of followed.deliveries) assert.deepEqual(d.map((e) => e.id), [...d.map((e) => e.id)].sort((a, b) => a - b));
      const keyOf = (id: number) => followed.deliveries.flat().find((e) => e.id === id)!.key;
      if (target.kind === 'postgres') {
        assert.deepEqual(followed.deliveries.map((d) => d.map((e) => e.key)), [['fast'], ['slow']]);
        assert.ok(committed[0] !== undefined && keyOf(committed[0]) === 'slow', 'the slow write drew the lower id');
      }
      assert.deepEqual(followed.tail.gaps, []);
      assert.equal(followed.tail.lastId, committed[committed.length - 1]);
      followed.tail.close();
    });

    it('EventTail resumes from lastId after a restart without repeating or losing events', async () => {
      await t.ds.entries.create([newEntry({ id: 'a' }), newEntry({ id: 'b', spiffeId: `${TD}/b` })]);
      const first = tail(t.ds);
      await eventually('first delivery', () => first.ids().length === 2, 3000);
      const resumeAt = first.tail.lastId;
      first.tail.close();
      await t.ds.close();
      const writer = await t.open();
      await writer.entries.delete(['a']);
      const second = tail(await t.open(), resumeAt);
      await eventually('resumed delivery', () => second.ids().length === 1, 3000);
      await sleep(200);
      assert.deepEqual(second.deliveries.flat().map((e) => [e.key, e.op]), [['a', 'delete']]);
      second.tail.close();
    });
  });
}
