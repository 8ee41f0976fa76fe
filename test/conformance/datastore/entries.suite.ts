import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import type { NewEntry, RegistrationEntry } from '../../../server/datastore/types.js';
import { AGENT, TD, newEntry, nowSeconds, rejectsWith, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

const dupMessage = (spiffeId: string, parentId: string, id: string): string =>
  `datastore: an entry with spiffe_id "${spiffeId}", parent_id "${parentId}" and the same selectors already exists (id "${id}")`;

export const ids = (entries: RegistrationEntry[]): string[] => entries.map((e) => e.id);

export const batch = (n: number, prefix = 'w'): NewEntry[] =>
  Array.from({ length: n }, (_, i) =>
    newEntry({ id: `${prefix}-${String(i).padStart(4, '0')}`, spiffeId: `${TD}/${prefix}/${i}`, selectors: [{ type: 'unix', value: `uid:${i}` }] }),
  );

export function entriesSuite(target: DatastoreTarget): void {
  describe('entries', () => {
    const t = useDatastore(target);

    it('round-trips every field exactly', async () => {
      const input: NewEntry = {
        id: 'entry-1',
        spiffeId: `${TD}/ns/prod/sa/api-ü`,
        parentId: AGENT,
        selectors: [
          { type: 'k8s', value: 'ns:prod' },
          { type: 'k8s', value: 'sa:api' },
          { type: 'unix', value: 'uid:0' },
        ],
        x509SvidTtl: 3600,
        jwtSvidTtl: 2_147_483_647,
        dnsNames: ['zeta.example.org', 'api.example.org'],
        federatesWith: ['a.example', 'b.example'],
        admin: true,
        downstream: true,
        expiresAt: 9_007_199_254_740_991,
        hint: 'external — 💡 "quoted"',
      };
      const before = nowSeconds();
      const [created] = await t.ds.entries.create([input]);
      assert.ok(created!.createdAt >= before && created!.createdAt <= nowSeconds());
      assert.deepEqual(created, { ...input, revision: 0, createdAt: created!.createdAt });
      assert.deepEqual(await t.ds.entries.get('entry-1'), created);
      assert.deepEqual((await t.ds.entries.list()).items, [created]);
      const other = await t.open();
      assert.deepEqual(await other.entries.get('entry-1'), created);
    });

    it('stores lists in the promised form: selectors and trust domains sorted and unique, DNS names in given order', async () => {
      const [e] = await t.ds.entries.create([
        newEntry({
          selectors: [{ type: 'unix', value: 'uid:1' }, { type: 'k8s', value: 'ns:b' }, { type: 'k8s', value: 'ns:a' }, { type: 'unix', value: 'uid:1' }],
          federatesWith: ['z.org', 'a.org', 'z.org'],
          dnsNames: ['b.org', 'a.org', 'b.org'],
        }),
      ]);
      const expected = {
        selectors: [{ type: 'k8s', value: 'ns:a' }, { type: 'k8s', value: 'ns:b' }, { type: 'unix', value: 'uid:1' }],
        federatesWith: ['a.org', 'z.org'],
        dnsNames: ['b.org', 'a.org'],
      };
      for (const got of [e!, (await t.ds.entries.get(e!.id))!]) {
        assert.deepEqual({ selectors: got.selectors, federatesWith: got.federatesWith, dnsNames: got.dnsNames }, expected);
      }
    });

    it('assigns a UUID when no id is given; get of an absent id is undefined', async () => {
      const [e] = await t.ds.entries.create([newEntry()]);
      assert.match(e!.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(await t.ds.entries.get('absent'), undefined);
      assert.deepEqual(await t.ds.entries.create([]), []);
    });

    it('update applies the patch, keeps the rest and bumps the revision each time', async () => {
      const [e] = await t.ds.entries.create([newEntry({ id: 'u', hint: 'keep', dnsNames: ['a.org'] })]);
      const u1 = await t.ds.entries.update('u', { x509SvidTtl: 60, selectors: [{ type: 'unix', value: 'uid:2' }], hint: undefined });
      assert.deepEqual(u1, { ...e!, x509SvidTtl: 60, selectors: [{ type: 'unix', value: 'uid:2' }], revision: 1 });
      const u2 = await t.ds.entries.update('u', { expiresAt: 2_000_000_000, admin: true, federatesWith: ['b.org'], dnsNames: [] });
      assert.deepEqual(u2, { ...u1, expiresAt: 2_000_000_000, admin: true, federatesWith: ['b.org'], dnsNames: [], revision: 2 });
      const u3 = await t.ds.entries.update('u', { expiresAt: null });
      assert.equal(u3.revision, 3);
      assert.equal(u3.expiresAt, null);
      assert.deepEqual(await t.ds.entries.get('u'), u3);
    });

    it('update of an absent entry is NOT_FOUND naming it', async () => {
      await rejectsWith(t.ds.entries.update('nope', { hint: 'x' }), Code.notFound, Status.NOT_FOUND, 'datastore: entry "nope" not found');
    });

    it('update that would duplicate another entry is ALREADY_EXISTS naming it, and changes nothing', async () => {
      await t.ds.entries.create([newEntry({ id: 'a' }), newEntry({ id: 'b', selectors: [{ type: 'unix', value: 'uid:2' }] })]);
      const before = await t.ds.events.latestId();
      await rejectsWith(
        t.ds.entries.update('b', { selectors: [{ type: 'unix', value: 'uid:1000' }] }),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        dupMessage(`${TD}/workload`, AGENT, 'a'),
      );
      assert.deepEqual((await t.ds.entries.get('b'))!.selectors, [{ type: 'unix', value: 'uid:2' }]);
      assert.equal((await t.ds.entries.get('b'))!.revision, 0);
      assert.equal(await t.ds.events.latestId(), before);
    });

    it('delete returns what it deleted, all or none', async () => {
      const created = await t.ds.entries.create(batch(3));
      await rejectsWith(t.ds.entries.delete(['w-0000', 'gone']), Code.notFound, Status.NOT_FOUND, 'datastore: entry "gone" not found');
      assert.equal(await t.ds.entries.count(), 3);
      assert.deepEqual(await t.ds.entries.delete(['w-0002', 'w-0000', 'w-0002']), [created[2], created[0]]);
      assert.deepEqual(ids((await t.ds.entries.list()).items), ['w-0001']);
      assert.deepEqual(await t.ds.entries.delete([]), []);
    });

    it('deleting an entry removes its child rows too (the same entry can be created again exactly)', async () => {
      const input = newEntry({ id: 'again', dnsNames: ['a.org'], federatesWith: ['f.org'], selectors: [{ type: 'a', value: '1' }, { type: 'b', value: '2' }] });
      await t.ds.entries.create([input]);
      await t.ds.entries.delete(['again']);
      const [recreated] = await t.ds.entries.create([input]);
      assert.deepEqual(await t.ds.entries.get('again'), recreated);
    });

    it('refuses numbers the engines could not both store exactly, writing nothing', async () => {
      await rejectsWith(
        t.ds.entries.create([newEntry({ id: 'f', x509SvidTtl: 1.5 })]),
        Code.invalid,
        Status.INVALID_ARGUMENT,
        'datastore: entry "f": x509SvidTtl 1.5 must be an integer from -2147483648 to 2147483647',
      );
      await rejectsWith(t.ds.entries.create([newEntry({ id: 'g', jwtSvidTtl: 2 ** 31 })]), Code.invalid, Status.INVALID_ARGUMENT, /jwtSvidTtl 2147483648 must be/);
      await rejectsWith(t.ds.entries.create([newEntry({ id: 'h', expiresAt: 2 ** 60 })]), Code.invalid, Status.INVALID_ARGUMENT, /expiresAt 1152921504606847000 must be/);
      await t.ds.entries.create([newEntry({ id: 'ok' })]);
      await rejectsWith(t.ds.entries.update('ok', { expiresAt: Number.NaN }), Code.invalid, Status.INVALID_ARGUMENT, /expiresAt NaN must be/);
      assert.equal((await t.ds.entries.get('ok'))!.revision, 0);
      assert.equal(await t.ds.entries.count(), 1);
    });

    it('rejects a duplicate of an existing entry (selectors in any order), naming it', async () => {
      await t.ds.entries.create([newEntry({ id: 'first', selectors: [{ type: 'a', value: '1' }, { type: 'b', value: '2' }] })]);
      await rejectsWith(
        t.ds.entries.create([newEntry({ id: 'second', selectors: [{ type: 'b', value: '2' }, { type: 'a', value: '1' }], hint: 'differs' })]),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        dupMessage(`${TD}/workload`, AGENT, 'first'),
      );
      assert.deepEqual(ids((await t.ds.entries.list()).items), ['first']);
    });

    it('rejects duplicates within a batch, and repeated or taken ids', async () => {
      await rejectsWith(
        t.ds.entries.create([newEntry({ id: 'x' }), newEntry({ id: 'y', selectors: [{ type: 'a', value: '1' }] }), newEntry({ id: 'z' })]),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        `datastore: an entry with spiffe_id "${TD}/workload", parent_id "${AGENT}" and the same selectors is already in the batch (entries 1 and 3 of 3; id "x")`,
      );
      await rejectsWith(
        t.ds.entries.create([newEntry({ id: 'x' }), newEntry({ id: 'x', selectors: [{ type: 'a', value: '1' }] })]),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        'datastore: entry id "x" appears more than once in the batch',
      );
      await t.ds.entries.create([newEntry({ id: 'x' })]);
      await rejectsWith(
        t.ds.entries.create([newEntry({ id: 'x', selectors: [{ type: 'a', value: '1' }] })]),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        'datastore: entry "x" already exists',
      );
      assert.equal(await t.ds.entries.count(), 1);
    });

    it('allows the same spiffe_id with other selectors or another parent', async () => {
      await t.ds.entries.create([
        newEntry({ id: '1' }),
        newEntry({ id: '2', selectors: [{ type: 'unix', value: 'uid:1000' }, { type: 'unix', value: 'gid:0' }] }),
        newEntry({ id: '3', parentId: `${TD}/other-agent` }),
      ]);
      assert.equal(await t.ds.entries.count(), 3);
    });

    it('a batch of 1000 whose 500th entry duplicates its 1st writes zero rows and zero events', async () => {
      const entries = batch(1000);
      entries[499] = { ...entries[0]!, id: 'the-500th' };
      await rejectsWith(t.ds.entries.create(entries), Code.alreadyExists, Status.ALREADY_EXISTS, /entries 1 and 500 of 1000; id "w-0000"/);
      assert.equal(await t.ds.entries.count(), 0);
      assert.equal(await t.ds.events.latestId(), 0);
    });

    it('a batch of 1000 whose 500th entry duplicates an existing one writes nothing', async () => {
      await t.ds.entries.create([newEntry({ id: 'existing', spiffeId: `${TD}/w/499`, selectors: [{ type: 'unix', value: 'uid:499' }] })]);
      const events = await t.ds.events.latestId();
      await rejectsWith(t.ds.entries.create(batch(1000)), Code.alreadyExists, Status.ALREADY_EXISTS, dupMessage(`${TD}/w/499`, AGENT, 'existing'));
      assert.equal(await t.ds.entries.count(), 1);
      assert.equal(await t.ds.events.latestId(), events);
    });

    it('a batch of 1000 is created whole, with one event per entry', async () => {
      const created = await t.ds.entries.create(batch(1000));
      assert.equal(created.length, 1000);
      assert.equal(await t.ds.entries.count(), 1000);
      const events = await t.ds.events.since(0, 5000);
      assert.deepEqual(events.map((e) => e.key), ids(created));
      assert.ok(events.every((e) => e.kind === 'entry' && e.op === 'upsert'));
    });

    it('the database itself refuses a duplicate, even one written behind the datastore', async () => {
      await t.ds.entries.create([newEntry({ id: 'a' })]);
      const columns = 'spiffe_id, parent_id, selectors_hash, unique_key, x509_svid_ttl, jwt_svid_ttl, admin, downstream, expires_at, hint, revision, created_at, updated_at';
      await assert.rejects(
        target.exec(t.url, `insert into registration_entries (id, ${columns}) select 'copy', ${columns} from registration_entries where id = 'a'`),
        /unique|UNIQUE/,
      );
    });

    it('two datastores racing to create the same entry: exactly one wins, the other is told which', async () => {
      const other = await t.open();
      for (let round = 0; round < 5; round++) {
        const spiffeId = `${TD}/race/${round}`;
        const results = await Promise.allSettled([
          t.ds.entries.create([newEntry({ id: `a${round}`, spiffeId })]),
          other.entries.create([newEntry({ id: `b${round}`, spiffeId })]),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<RegistrationEntry[]>[];
        assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(', ')}`);
        const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        await rejectsWith(Promise.reject(lost.reason), Code.alreadyExists, Status.ALREADY_EXISTS, dupMessage(spiffeId, AGENT, won[0]!.value[0]!.id));
      }
      assert.equal(await t.ds.entries.count(), 5);
    });

    it('prunes expired entries, recording their deletion', async () => {
      const now = nowSeconds();
      await t.ds.entries.create([
        newEntry({ id: 'old', spiffeId: `${TD}/old`, expiresAt: now - 10 }),
        newEntry({ id: 'edge', spiffeId: `${TD}/edge`, expiresAt: now }),
        newEntry({ id: 'new', spiffeId: `${TD}/new`, expiresAt: now + 3600 }),
        newEntry({ id: 'never', spiffeId: `${TD}/never`, expiresAt: null }),
      ]);
      const before = await t.ds.events.latestId();
      assert.equal(await t.ds.entries.pruneExpired(now), 1);
      assert.deepEqual(ids((await t.ds.entries.list()).items), ['edge', 'never', 'new']);
      assert.deepEqual((await t.ds.events.since(before)).map((e) => [e.kind, e.key, e.op]), [['entry', 'old', 'delete']]);
      assert.equal(await t.ds.entries.pruneExpired(now), 0);
    });
  });
}
