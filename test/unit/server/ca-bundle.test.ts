/**
 * The bundle publisher: every change moves spiffe_sequence up by exactly one (bigint, beyond
 * 2^53 too), no-change writes nothing, several servers share one bundle, and content is deterministic.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { BundlePublisher } from '../../../server/ca/bundle-publisher.js';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { FakeBundleStore } from '../../fakes/bundle-store.js';
import { FakeCaJournalStore } from '../../fakes/ca-journal-store.js';
import { startTestCa, TD } from '../../fakes/ca-harness.js';

const jwtKey = () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;

describe('ServerCa: bundle publishing', function () {
  this.timeout(30_000);

  it('publishes the CA root and JWT key on first start as sequence 1, document and column alike', async () => {
    const { ca, bundles } = await startTestCa();
    assert.equal(bundles.writes.length, 1);
    const stored = bundles.writes[0]!;
    assert.equal(stored.trustDomain, 'example.org');
    assert.equal(stored.sequence, 1n);
    const doc = JSON.parse(stored.document) as { spiffe_sequence: number; keys: { use: string; kid?: string }[] };
    assert.equal(doc.spiffe_sequence, 1);
    assert.deepEqual(doc.keys.map((k) => k.use).sort(), ['jwt-svid', 'x509-svid']);
    const status = ca.status();
    assert.ok(status.ready);
    assert.equal(doc.keys.find((k) => k.use === 'jwt-svid')?.kid, status.jwt.id);
  });

  it('adds a second server to the same bundle, one step per change', async () => {
    const bundles = new FakeBundleStore();
    const journals = new FakeCaJournalStore();
    const a = await startTestCa({ bundles, journals, serverInstanceId: 'a' });
    const b = await startTestCa({ bundles, journals, serverInstanceId: 'b' });
    assert.deepEqual(bundles.writes.map((w) => w.sequence), [1n, 2n]);
    const bundle = await b.ca.bundle();
    assert.equal(bundle.x509Authorities().length, 2);
    assert.equal(bundle.jwtAuthorities().size, 2);
    assert.equal(bundle.sequenceNumber, 2n);
    assert.deepEqual(await a.ca.x509Authorities(), bundle.x509Authorities());
  });

  it('counts exactly one per change, writes nothing for no change, and stays exact past 2^53', async () => {
    const bundles = new FakeBundleStore();
    const start = 2n ** 60n + 7n;
    bundles.seed({ trustDomain: TD.name, document: new SpiffeBundle(TD, { sequenceNumber: start }).marshal(), sequence: start });
    const publisher = new BundlePublisher(bundles, TD);
    const k1 = jwtKey();
    await publisher.addAuthorities({ jwt: [{ kid: 'k1', publicKey: k1 }] });
    await publisher.addAuthorities({ jwt: [{ kid: 'k1', publicKey: k1 }] });
    await publisher.addAuthorities({});
    const after = await publisher.addAuthorities({ jwt: [{ kid: 'k2', publicKey: jwtKey() }, { kid: 'k3', publicKey: jwtKey() }] });
    assert.deepEqual(bundles.writes.map((w) => w.sequence), [start + 1n, start + 2n]);
    assert.equal(after.sequenceNumber, start + 2n);
    assert.match(bundles.writes[1]!.document, new RegExp(`"spiffe_sequence":${start + 2n}[,}]`));
  });

  it('serialises concurrent publishers so no change is lost and no number repeats', async () => {
    const bundles = new FakeBundleStore();
    const publishers = Array.from({ length: 20 }, () => new BundlePublisher(bundles, TD));
    await Promise.all(publishers.map((p, i) => p.addAuthorities({ jwt: [{ kid: `kid-${i}`, publicKey: jwtKey() }] })));
    assert.deepEqual(bundles.writes.map((w) => w.sequence), Array.from({ length: 20 }, (_, i) => BigInt(i + 1)));
    assert.equal((await publishers[0]!.fetch()).jwtAuthorities().size, 20);
  });

  it('writes the same bytes for the same authorities, whatever order they were added in', async () => {
    const keys = [jwtKey(), jwtKey(), jwtKey()];
    const docs: string[] = [];
    for (const order of [[0, 1, 2], [2, 0, 1]]) {
      const bundles = new FakeBundleStore();
      const publisher = new BundlePublisher(bundles, TD);
      await publisher.addAuthorities({ jwt: order.map((i) => ({ kid: `kid-${i}`, publicKey: keys[i]! })) });
      docs.push(bundles.writes[0]!.document);
    }
    assert.equal(docs[0], docs[1]);
  });

  it('writes a configured refresh hint, and counts changing it as a change', async () => {
    const bundles = new FakeBundleStore();
    await new BundlePublisher(bundles, TD).addAuthorities({ jwt: [{ kid: 'k', publicKey: jwtKey() }] });
    const hinted = await new BundlePublisher(bundles, TD, { refreshHintSeconds: 300 }).addAuthorities({});
    assert.equal(hinted.refreshHintSeconds, 300);
    assert.equal(hinted.sequenceNumber, 2n);
    await new BundlePublisher(bundles, TD, { refreshHintSeconds: 300 }).addAuthorities({});
    assert.equal(bundles.writes.length, 2);
  });

  it('refuses to publish over a stored bundle it cannot read', async () => {
    const bundles = new FakeBundleStore();
    bundles.seed({ trustDomain: TD.name, document: '{"keys": 5}', sequence: 3n });
    await assert.rejects(new BundlePublisher(bundles, TD).addAuthorities({}), (err: unknown) => {
      assert.ok(err instanceof CaError);
      assert.equal(err.code, CaErrorCode.corrupt);
      assert.match(err.message, /^ca: the stored bundle of trust domain "example\.org" cannot be read: .*; restore the database$/);
      return true;
    });
  });
});
