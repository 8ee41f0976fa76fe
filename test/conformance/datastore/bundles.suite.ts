import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import type { StoredBundle } from '../../../server/datastore/types.js';
import { nowSeconds, rejectsWith, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

const TD = 'example.org';

const doc = (authorities: string[]): string => JSON.stringify({ keys: authorities.map((a) => ({ use: 'x509-svid', kid: a })) });

/** Adds one authority to the bundle, as a server publishing its new CA would, and bumps the sequence. */
const append = (ds: Datastore, authority: string) =>
  ds.bundles.update(TD, (current) => {
    const keys = current ? (JSON.parse(current.document) as { keys: { kid: string }[] }).keys.map((k) => k.kid) : [];
    return { trustDomain: TD, document: doc([...keys, authority]), sequence: (current?.sequence ?? 0n) + 1n };
  });

const kids = (b: StoredBundle | undefined): string[] => (JSON.parse(b!.document) as { keys: { kid: string }[] }).keys.map((k) => k.kid);

export function bundlesSuite(target: DatastoreTarget): void {
  describe('bundles', () => {
    const t = useDatastore(target);

    it('update creates a bundle that get and list return exactly', async () => {
      const bundle: StoredBundle = { trustDomain: TD, document: doc(['a', 'ü']), sequence: 7n };
      assert.deepEqual(await t.ds.bundles.update(TD, () => bundle), bundle);
      await t.ds.bundles.update('federated.test', () => ({ trustDomain: 'federated.test', document: '{"keys":[]}', sequence: 0n }));
      assert.deepEqual(await t.ds.bundles.get(TD), bundle);
      assert.deepEqual((await t.ds.bundles.list()).map((b) => b.trustDomain), ['example.org', 'federated.test']);
      assert.deepEqual((await t.ds.bundles.list())[0], bundle);
      assert.equal(await t.ds.bundles.get('absent.test'), undefined);
    });

    it('keeps sequence numbers exact across the 2^53, 2^63 and 2^64 boundaries, also after reopening', async () => {
      const values = [0n, 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 63n + 1n, 2n ** 64n - 1n];
      for (const [i, sequence] of values.entries()) {
        const td = `seq${i}.test`;
        const stored = await t.ds.bundles.update(td, () => ({ trustDomain: td, document: '{}', sequence }));
        assert.equal(stored!.sequence, sequence);
        assert.equal((await t.ds.bundles.get(td))!.sequence, sequence);
      }
      await t.ds.close();
      const reopened = await t.open();
      assert.deepEqual((await reopened.bundles.list()).map((b) => b.sequence), values);
    });

    it('refuses a sequence outside uint64 and writes nothing', async () => {
      for (const sequence of [-1n, 2n ** 64n]) {
        await rejectsWith(
          t.ds.bundles.update(TD, () => ({ trustDomain: TD, document: '{}', sequence })),
          Code.invalid,
          Status.INVALID_ARGUMENT,
          `datastore: bundle sequence ${sequence} is not an unsigned 64-bit integer`,
        );
      }
      assert.deepEqual(await t.ds.bundles.list(), []);
      assert.equal(await t.ds.events.latestId(), 0);
    });

    it('an update function returning undefined changes nothing and appends no event', async () => {
      await append(t.ds, 'a');
      const events = await t.ds.events.latestId();
      const seen: (StoredBundle | undefined)[] = [];
      const result = await t.ds.bundles.update(TD, (current) => {
        seen.push(current);
        return undefined;
      });
      assert.deepEqual(result, await t.ds.bundles.get(TD));
      assert.deepEqual(seen, [result]);
      assert.equal(await t.ds.events.latestId(), events);
      assert.equal(await t.ds.bundles.update('absent.test', () => undefined), undefined);
    });

    it("an update function's error reaches the caller unchanged and changes nothing", async () => {
      await append(t.ds, 'a');
      const boom = new RangeError('publisher broke');
      await assert.rejects(t.ds.bundles.update(TD, () => { throw boom; }), (err) => err === boom);
      assert.deepEqual(kids(await t.ds.bundles.get(TD)), ['a']);
    });

    it('refuses an update that returns another trust domain', async () => {
      await rejectsWith(
        t.ds.bundles.update(TD, () => ({ trustDomain: 'other.test', document: '{}', sequence: 1n })),
        Code.invalid,
        Status.INVALID_ARGUMENT,
        'datastore: bundle update for trust domain "example.org" returned a bundle for "other.test"',
      );
    });

    it('two datastores appending 20 times each, concurrently, lose none of the 40 and count across 2^63', async () => {
      const start = 2n ** 63n - 20n;
      await t.ds.bundles.update(TD, () => ({ trustDomain: TD, document: doc([]), sequence: start }));
      const other = await t.open();
      await Promise.all(Array.from({ length: 40 }, (_, i) => append(i % 2 ? other : t.ds, `${i % 2 ? 'B' : 'A'}${i}`)));
      const final = await t.ds.bundles.get(TD);
      assert.equal(final!.sequence, start + 40n);
      assert.deepEqual(kids(final).sort(), Array.from({ length: 40 }, (_, i) => `${i % 2 ? 'B' : 'A'}${i}`).sort());
      const events = await t.ds.events.since(0, 100);
      assert.equal(events.filter((e) => e.kind === 'bundle' && e.key === TD).length, 41);
    });

    it('two datastores creating the same new bundle at once: both changes kept', async () => {
      const other = await t.open();
      await Promise.all(Array.from({ length: 10 }, (_, i) => append(i % 2 ? other : t.ds, `k${i}`)));
      const final = await t.ds.bundles.get(TD);
      assert.equal(final!.sequence, 10n);
      assert.equal(kids(final).length, 10);
    });

    it('delete removes the bundle and records it; deleting an absent one is NOT_FOUND', async () => {
      await append(t.ds, 'a');
      await t.ds.bundles.delete(TD);
      assert.equal(await t.ds.bundles.get(TD), undefined);
      assert.deepEqual((await t.ds.events.since(0)).map((e) => [e.kind, e.key, e.op]), [['bundle', TD, 'upsert'], ['bundle', TD, 'delete']]);
      await rejectsWith(t.ds.bundles.delete(TD), Code.notFound, Status.NOT_FOUND, 'datastore: bundle for trust domain "example.org" not found');
    });
  });

  describe('CA journals', () => {
    const t = useDatastore(target);

    it('keeps one journal per server instance; put replaces it', async () => {
      assert.equal(await t.ds.caJournals.get('server-a'), undefined);
      const before = nowSeconds();
      const a = await t.ds.caJournals.put('server-a', '{"x509CAs":[1]}');
      assert.equal(a.serverInstanceId, 'server-a');
      assert.equal(a.data, '{"x509CAs":[1]}');
      assert.ok(a.updatedAt >= before);
      await t.ds.caJournals.put('server-b', '{"other":true}');
      const a2 = await t.ds.caJournals.put('server-a', '{"x509CAs":[1,2]}');
      assert.deepEqual(await t.ds.caJournals.get('server-a'), a2);
      assert.equal((await t.ds.caJournals.get('server-b'))!.data, '{"other":true}');
    });
  });
}
