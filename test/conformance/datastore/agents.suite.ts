import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import type { AttestedAgent } from '../../../server/datastore/types.js';
import { AGENT, TD, newAgent, nowSeconds, rejectsWith, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

const spiffeIds = (agents: AttestedAgent[]): string[] => agents.map((a) => a.spiffeId);

export function agentsSuite(target: DatastoreTarget): void {
  describe('agents', () => {
    const t = useDatastore(target);

    it('upsert round-trips every field exactly', async () => {
      const input = newAgent({
        newSerialNumber: 'ff00',
        newExpiresAt: 9_007_199_254_740_991,
        banned: true,
        canReattest: true,
        selectors: [{ type: 'tpm', value: 'pcr:0:abc' }, { type: 'join_token', value: '4f1c' }],
        agentVersion: '1.2.3-é',
      });
      const before = nowSeconds();
      const agent = await t.ds.agents.upsert(input);
      assert.ok(agent.createdAt >= before && agent.createdAt <= nowSeconds());
      assert.deepEqual(agent, {
        ...input,
        selectors: [{ type: 'join_token', value: '4f1c' }, { type: 'tpm', value: 'pcr:0:abc' }],
        createdAt: agent.createdAt,
        updatedAt: agent.createdAt,
      });
      assert.deepEqual(await t.ds.agents.get(AGENT), agent);
      assert.equal(await t.ds.agents.get(`${TD}/absent`), undefined);
    });

    it('re-attestation replaces the record, selectors included, and keeps createdAt', async () => {
      const first = await t.ds.agents.upsert(newAgent({ selectors: [{ type: 'a', value: '1' }, { type: 'b', value: '2' }] }));
      const again = await t.ds.agents.upsert(
        newAgent({ serialNumber: 'beef', expiresAt: 1_950_000_000, selectors: [{ type: 'c', value: '3' }], agentVersion: '0.2.0' }),
      );
      assert.deepEqual(again, {
        ...newAgent({ serialNumber: 'beef', expiresAt: 1_950_000_000, selectors: [{ type: 'c', value: '3' }], agentVersion: '0.2.0' }),
        createdAt: first.createdAt,
        updatedAt: again.updatedAt,
      });
      assert.ok(again.updatedAt >= first.updatedAt);
      assert.equal(await t.ds.agents.count(), 1);
    });

    it('a renewed SVID serial is recorded, then promoted to current on first use', async () => {
      await t.ds.agents.upsert(newAgent());
      const renewed = await t.ds.agents.setNewSerial(AGENT, 'c0ffee', 1_960_000_000);
      assert.deepEqual([renewed.serialNumber, renewed.expiresAt, renewed.newSerialNumber, renewed.newExpiresAt], ['0a1b2c', 1_900_000_000, 'c0ffee', 1_960_000_000]);
      const promoted = await t.ds.agents.promoteNewSerial(AGENT);
      assert.deepEqual([promoted.serialNumber, promoted.expiresAt, promoted.newSerialNumber, promoted.newExpiresAt], ['c0ffee', 1_960_000_000, null, null]);
      assert.deepEqual(await t.ds.agents.get(AGENT), promoted);
      await rejectsWith(
        t.ds.agents.promoteNewSerial(AGENT),
        Code.conflict,
        Status.ABORTED,
        `datastore: agent "${AGENT}" has no new serial number to promote`,
      );
    });

    it('two servers promoting the same renewal at once: one promotes, the other is told there is nothing left', async () => {
      await t.ds.agents.upsert(newAgent({ newSerialNumber: 'c0ffee', newExpiresAt: 1_960_000_000 }));
      const other = await t.open();
      const results = await Promise.allSettled([t.ds.agents.promoteNewSerial(AGENT), other.agents.promoteNewSerial(AGENT)]);
      assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((await t.ds.agents.get(AGENT))!.serialNumber, 'c0ffee');
    });

    it('ban sets the flag; setSelectors replaces the node selectors', async () => {
      await t.ds.agents.upsert(newAgent());
      const banned = await t.ds.agents.ban(AGENT);
      assert.equal(banned.banned, true);
      assert.equal(banned.serialNumber, '0a1b2c');
      const resel = await t.ds.agents.setSelectors(AGENT, [{ type: 'z', value: '9' }, { type: 'a', value: '0' }]);
      assert.deepEqual(resel.selectors, [{ type: 'a', value: '0' }, { type: 'z', value: '9' }]);
      assert.equal(resel.banned, true);
      assert.deepEqual(await t.ds.agents.get(AGENT), resel);
      assert.deepEqual((await t.ds.agents.setSelectors(AGENT, [])).selectors, []);
    });

    it('delete evicts the agent, who may then attest again', async () => {
      const agent = await t.ds.agents.upsert(newAgent());
      assert.deepEqual(await t.ds.agents.delete(AGENT), agent);
      assert.equal(await t.ds.agents.get(AGENT), undefined);
      assert.equal(await t.ds.agents.count(), 0);
      await t.ds.agents.upsert(newAgent());
      assert.equal(await t.ds.agents.count(), 1);
    });

    it('every change of an absent agent is NOT_FOUND naming it', async () => {
      const id = `${TD}/sigil/agent/tpm/none`;
      const message = `datastore: agent "${id}" not found`;
      await rejectsWith(t.ds.agents.setNewSerial(id, 'aa', 1), Code.notFound, Status.NOT_FOUND, message);
      await rejectsWith(t.ds.agents.promoteNewSerial(id), Code.notFound, Status.NOT_FOUND, message);
      await rejectsWith(t.ds.agents.setSelectors(id, []), Code.notFound, Status.NOT_FOUND, message);
      await rejectsWith(t.ds.agents.ban(id), Code.notFound, Status.NOT_FOUND, message);
      await rejectsWith(t.ds.agents.delete(id), Code.notFound, Status.NOT_FOUND, message);
      assert.equal(await t.ds.events.latestId(), 0);
    });

    it('lists by spiffe_id, filtered by attestation type and banned, in pages', async () => {
      const agentId = (i: number) => `${TD}/sigil/agent/${i % 2 ? 'tpm' : 'join_token'}/${i}`;
      for (let i = 0; i < 7; i++) {
        await t.ds.agents.upsert(newAgent({ spiffeId: agentId(i), attestationType: i % 2 ? 'tpm' : 'join_token', banned: i === 3 }));
      }
      const all = spiffeIds((await t.ds.agents.list()).items);
      assert.deepEqual(all, Array.from({ length: 7 }, (_, i) => agentId(i)).sort());
      assert.equal(await t.ds.agents.count(), 7);
      assert.deepEqual(spiffeIds((await t.ds.agents.list({ attestationType: 'tpm' })).items), [1, 3, 5].map(agentId).sort());
      assert.deepEqual(spiffeIds((await t.ds.agents.list({ banned: true })).items), [agentId(3)]);
      assert.deepEqual(spiffeIds((await t.ds.agents.list({ attestationType: 'tpm', banned: false })).items), [1, 5].map(agentId).sort());
      const pages: string[][] = [];
      let pageToken: string | undefined;
      do {
        const page = await t.ds.agents.list({}, pageToken === undefined ? { pageSize: 3 } : { pageSize: 3, pageToken });
        pages.push(spiffeIds(page.items));
        pageToken = page.nextPageToken;
      } while (pageToken !== undefined);
      assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
      assert.deepEqual(pages.flat(), all);
    });

    it('every change appends an agent event', async () => {
      await t.ds.agents.upsert(newAgent());
      await t.ds.agents.setNewSerial(AGENT, 'aa', 1_970_000_000);
      await t.ds.agents.promoteNewSerial(AGENT);
      await t.ds.agents.setSelectors(AGENT, []);
      await t.ds.agents.ban(AGENT);
      await t.ds.agents.delete(AGENT);
      const events = await t.ds.events.since(0);
      assert.deepEqual(events.map((e) => [e.kind, e.key, e.op]), [
        ...Array.from({ length: 5 }, () => ['agent', AGENT, 'upsert']),
        ['agent', AGENT, 'delete'],
      ]);
    });
  });
}
