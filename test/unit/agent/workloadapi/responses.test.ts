/**
 * The shared responses (one encoding per version and identity set, bytes that decode to the right
 * message, older versions encoded but not kept), hint dedup and bundle entitlement, and claims as
 * google.protobuf.Struct on the wire.
 */
import assert from 'node:assert/strict';
import type { ServiceDefinition } from '@grpc/grpc-js';
import type { Identity, IdentitySnapshot } from '../../../../agent/cache/workload-view.js';
import { entitledBundles, SharedResponses, trustDomainKey, uniqueHints } from '../../../../agent/workloadapi/encode.js';
import { fromStruct } from '../../../../agent/cli/api/jwt.js';
import { toStruct } from '../../../../agent/workloadapi/validate.js';
import { loadProto } from '../../../../proto/load.js';
import { TestAuthority } from '../../../fakes/workload-view.js';

const def = (): ServiceDefinition => loadProto('workload.proto')['SpiffeWorkloadAPI'] as ServiceDefinition;

describe('agent/workloadapi: shared responses', () => {
  let auth: TestAuthority;
  let other: TestAuthority;
  let a: Identity;
  let b: Identity;
  before(async () => {
    auth = await TestAuthority.create('example.org');
    other = await TestAuthority.create('other.org');
    a = await auth.issue('/a', ['unix:uid:1'], { entryId: 'a', hint: 'h', federatesWith: ['other.org'] });
    b = await auth.issue('/b', ['unix:uid:1'], { entryId: 'b', hint: 'h' });
  });
  const snap = (version: number, identities: Identity[], federated = true): IdentitySnapshot => ({
    version,
    identities,
    bundle: auth.bundleView(),
    federatedBundles: new Map(federated ? [['other.org', other.bundleView()]] : []),
  });

  it('encodes once per version and identity set, and the bytes decode to the full response', () => {
    const r = new SharedResponses();
    const first = r.x509Svid(snap(1, [a]));
    assert.equal(r.x509Svid(snap(1, [a])), first);
    assert.equal(r.encodings, 1);
    const msg = def()['FetchX509SVID']?.responseDeserialize(first) as {
      svids: { spiffe_id: string; hint: string; x509_svid: Buffer; bundle: Buffer }[];
      federated_bundles: Record<string, Buffer>;
    };
    assert.deepEqual(msg.svids.map((s) => [s.spiffe_id, s.hint]), [['spiffe://example.org/a', 'h']]);
    assert.ok(msg.svids[0]?.x509_svid.equals(a.certChainDer));
    assert.ok(msg.svids[0]?.bundle.equals(auth.caDer));
    assert.deepEqual(Object.keys(msg.federated_bundles), ['spiffe://other.org']);
    r.x509Svid(snap(1, [b]));
    assert.equal(r.encodings, 2);
  });

  it('drops older versions when a newer one arrives, and encodes a late older one without keeping it', () => {
    const r = new SharedResponses();
    const v1 = r.x509Bundles(snap(1, [a]));
    const v2 = r.x509Bundles(snap(2, [a]));
    assert.notEqual(v1, v2);
    assert.ok(v1.equals(v2));
    r.x509Bundles(snap(1, [a]));
    r.x509Bundles(snap(1, [a]));
    assert.equal(r.encodings, 4);
    assert.equal(r.x509Bundles(snap(2, [a])), v2);
  });

  it('gives federated bundles only to holders of an identity, own trust domain first', () => {
    assert.deepEqual(entitledBundles(snap(1, [])).map((x) => x.trustDomain), ['example.org']);
    assert.deepEqual(entitledBundles(snap(1, [a])).map((x) => x.trustDomain), ['example.org', 'other.org']);
    const jwt = def()['FetchJWTBundles']?.responseDeserialize(new SharedResponses().jwtBundles(snap(1, []))) as { bundles: Record<string, Buffer> };
    assert.deepEqual(Object.keys(jwt.bundles), ['spiffe://example.org']);
  });

  it('keeps the first identity of a hint; empty hints never collide', () => {
    const c = { ...b, entryId: 'c', hint: '' };
    const d = { ...b, entryId: 'd', hint: '' };
    assert.deepEqual(uniqueHints([a, b, c, d]).map((i) => i.entryId), ['a', 'c', 'd']);
    assert.equal(trustDomainKey('example.org'), 'spiffe://example.org');
    assert.equal(trustDomainKey('spiffe://example.org'), 'spiffe://example.org');
  });
});

describe('agent/workloadapi: claims as google.protobuf.Struct', () => {
  it('round-trips JSON claims through the wire encoding', () => {
    const claims = { sub: 'spiffe://x/y', aud: ['a', 'b'], exp: 1700000000, nested: { ok: true, none: null, list: [1, 'two'] } };
    const m = def()['ValidateJWTSVID'];
    const wire = m?.responseSerialize({ spiffe_id: 'spiffe://x/y', claims: toStruct(claims) });
    const back = m?.responseDeserialize(wire ?? Buffer.alloc(0)) as { claims: Parameters<typeof fromStruct>[0] };
    assert.deepEqual(fromStruct(back.claims), claims);
  });
});
