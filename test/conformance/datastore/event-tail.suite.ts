/**
 * EventTail against a scripted event log, where the test decides which ids are committed when:
 * the orderings PostgreSQL produces only by chance are made to happen every time.
 */
import assert from 'node:assert/strict';
import type { EventStore } from '../../../server/datastore/datastore.js';
import { EventTail, gapRanges } from '../../../server/datastore/event-tail.js';
import type { ChangeEvent } from '../../../server/datastore/types.js';

class ScriptedLog implements EventStore {
  readonly rows = new Map<number, ChangeEvent>();
  readonly listeners = new Set<() => void>();
  reads = 0;

  commit(...ids: number[]): void {
    for (const id of ids) this.rows.set(id, { id, kind: 'entry', key: `k${id}`, op: 'upsert', at: 0 });
    for (const l of this.listeners) l();
  }
  async latestId(): Promise<number> {
    return Math.max(0, ...this.rows.keys());
  }
  async since(afterId: number, limit = 1000): Promise<ChangeEvent[]> {
    this.reads++;
    return [...this.rows.values()].filter((r) => r.id > afterId).sort((a, b) => a.id - b.id).slice(0, limit);
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  async pruneOlderThan(): Promise<number> {
    return 0;
  }
}

const settle = () => new Promise((r) => setTimeout(r, 30));

function follow(log: ScriptedLog, options: Partial<ConstructorParameters<typeof EventTail>[1]> = {}) {
  let clock = 0;
  const deliveries: number[][] = [];
  const skipped: number[][] = [];
  const tail = new EventTail(log, { fromId: 0, gapRecheckMs: 10, gapTimeoutMs: 1000, now: () => clock, ...options });
  tail.on('events', (events) => deliveries.push(events.map((e) => e.id)));
  tail.on('skipped', (ids) => skipped.push(ids));
  return { tail, deliveries, skipped, advance: (ms: number) => (clock += ms) };
}

export function eventTailSuite(): void {
  describe('EventTail (scripted log)', () => {
    it('delivers committed events once each, in id order, across wake-ups', async () => {
      const log = new ScriptedLog();
      log.commit(1, 2, 3);
      const f = follow(log);
      await settle();
      log.commit(4);
      await settle();
      f.tail.wake();
      await settle();
      assert.deepEqual(f.deliveries, [[1, 2, 3], [4]]);
      assert.equal(f.tail.lastId, 4);
      f.tail.close();
    });

    it('holds a gap open and delivers the lower id when it commits late', async () => {
      const log = new ScriptedLog();
      const f = follow(log);
      log.commit(1, 3, 4);
      await settle();
      assert.deepEqual(f.tail.gaps, [2]);
      assert.equal(f.tail.lastId, 1);
      log.commit(2);
      await settle();
      assert.deepEqual(f.deliveries, [[1, 3, 4], [2]]);
      assert.deepEqual(f.tail.gaps, []);
      assert.equal(f.tail.lastId, 4);
      f.tail.close();
    });

    it('finds a late id by its own rechecks, without any notification', async () => {
      const log = new ScriptedLog();
      const f = follow(log);
      log.commit(2);
      await settle();
      log.rows.set(1, { id: 1, kind: 'agent', key: 'quiet', op: 'delete', at: 0 });
      await settle();
      assert.deepEqual(f.deliveries, [[2], [1]]);
      f.tail.close();
    });

    it('gives up on a gap after the timeout, reports it, and moves lastId past it', async () => {
      const log = new ScriptedLog();
      const f = follow(log);
      log.commit(1, 4);
      await settle();
      assert.deepEqual(f.tail.gaps, [2, 3]);
      f.advance(999);
      f.tail.wake();
      await settle();
      assert.deepEqual(f.skipped, []);
      f.advance(1);
      f.tail.wake();
      await settle();
      assert.deepEqual(f.skipped, [[2, 3]]);
      assert.equal(f.tail.lastId, 4);
      log.commit(2);
      log.commit(5);
      await settle();
      assert.deepEqual(f.deliveries, [[1, 4], [5]]);
      f.tail.close();
    });

    it('at start, holds ids missing below fromId (in flight when fromId was taken) and delivers them', async () => {
      const log = new ScriptedLog();
      log.commit(5, 6, 8, 10);
      const f = follow(log, { fromId: 10 });
      await settle();
      assert.deepEqual(f.deliveries, []);
      assert.deepEqual(f.tail.gaps, [7, 9]);
      log.commit(9, 11);
      await settle();
      assert.deepEqual(f.deliveries, [[9, 11]]);
      assert.equal(f.tail.lastId, 6);
      f.tail.close();
    });

    it('reads in batches and still delivers everything once', async () => {
      const log = new ScriptedLog();
      log.commit(...Array.from({ length: 25 }, (_, i) => i + 1));
      const f = follow(log, { batchSize: 4 });
      await settle();
      assert.deepEqual(f.deliveries.flat(), Array.from({ length: 25 }, (_, i) => i + 1));
      f.tail.close();
    });

    it('reports a failing read as an error and recovers', async () => {
      const log = new ScriptedLog();
      const since = log.since.bind(log);
      let fail = true;
      log.since = async (a, l) => {
        if (fail) throw new Error('connection lost');
        return since(a, l);
      };
      const f = follow(log);
      const errors: unknown[] = [];
      f.tail.on('error', (err) => errors.push(err));
      log.commit(1);
      await settle();
      assert.match(String(errors[0]), /connection lost/);
      fail = false;
      log.commit(2);
      await settle();
      assert.deepEqual(f.deliveries.flat(), [1, 2]);
      f.tail.close();
    });

    it('stops reading when closed', async () => {
      const log = new ScriptedLog();
      const f = follow(log);
      await settle();
      f.tail.close();
      const reads = log.reads;
      log.commit(1);
      await settle();
      assert.equal(log.reads, reads);
      assert.deepEqual(f.deliveries, []);
    });

    it('groups gaps into few ranges for rechecking', () => {
      assert.deepEqual(gapRanges([2, 3, 4, 9, 10, 20]), [[2, 4], [9, 10], [20, 20]]);
      const many = Array.from({ length: 20 }, (_, i) => i * 10 + (i > 10 ? 1000 : 0));
      const ranges = gapRanges(many);
      assert.equal(ranges.length, 8);
      assert.ok(many.every((id) => ranges.some(([a, b]) => id >= a && id <= b)));
    });
  });
}
