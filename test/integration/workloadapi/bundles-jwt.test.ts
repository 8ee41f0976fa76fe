/**
 * FetchX509Bundles and FetchJWTBundles (own bundle for everyone, federated ones for holders of an
 * identity, a push per real change and none for a change that alters nothing), FetchJWTSVID
 * (audience rules, spiffe_id filter, the cache's per-audience reuse) and ValidateJWTSVID.
 */
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { signJwtSvid } from '../../../spiffe/jwtsvid/index.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { parseInsecure } from '../../../spiffe/jwtsvid/index.js';
import type {
  JwtBundlesResponseMsg, JwtSvidResponseMsg, ValidateJwtSvidResponseMsg, X509BundlesResponseMsg,
} from '../../../agent/workloadapi/messages.js';
import { fromStruct } from '../../../agent/cli/api/jwt.js';
import { TestAuthority } from '../../fakes/workload-view.js';
import { startHarness, type Harness } from './harness.js';
import { StreamRecorder, TestWorkloadClient } from './workload-client.js';

const ME = `unix:uid:${process.getuid?.() ?? 0}`;

function rejectsWith(p: Promise<unknown>, code: number, details?: string | RegExp): Promise<void> {
  return assert.rejects(p, (err: { code: number; details: string }) => {
    assert.equal(err.code, code, `${err.code} ${err.details}`);
    if (typeof details === 'string') assert.equal(err.details, details);
    else if (details !== undefined) assert.match(err.details, details);
    return true;
  });
}

describe('workload api: bundle streams', () => {
  let h: Harness;
  let client: TestWorkloadClient;
  let other: TestAuthority;
  before(async () => {
    other = await TestAuthority.create('other.org');
  });
  beforeEach(async () => {
    h = await startHarness();
    client = new TestWorkloadClient(h.socketPath);
    h.view.addFederated(other);
  });
  afterEach(async () => {
    client.close();
    await h.close();
  });

  it('FetchX509Bundles: the own bundle to a caller with no identity, federated ones once it has one', async () => {
    const rec = new StreamRecorder(client.stream<X509BundlesResponseMsg>('FetchX509Bundles'));
    await rec.messageCount(1);
    assert.deepEqual(Object.keys(rec.messages[0]?.bundles ?? {}), ['spiffe://example.org']);
    assert.ok(rec.messages[0]?.bundles['spiffe://example.org']?.equals(h.authority.caDer));
    h.view.addIdentity(await h.authority.issue('/fed', [ME], { federatesWith: ['other.org'] }));
    await rec.messageCount(2);
    assert.deepEqual(Object.keys(rec.messages[1]?.bundles ?? {}).sort(), ['spiffe://example.org', 'spiffe://other.org']);
    rec.call.cancel();
  });

  it('FetchX509Bundles: no push for a change that leaves the bundles as they were, one for a new CA', async () => {
    const rec = new StreamRecorder(client.stream<X509BundlesResponseMsg>('FetchX509Bundles'));
    await rec.messageCount(1);
    // A new identity without federation changes the caller's snapshot but not its bundles.
    h.view.addIdentity(await h.authority.issue('/plain', [ME]));
    h.view.touch();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rec.messages.length, 1);
    const rotated = await TestAuthority.create('example.org');
    h.view.setBundle({ ...h.authority.bundleView(), x509Der: Buffer.concat([h.authority.caDer, rotated.caDer]) });
    await rec.messageCount(2);
    assert.equal(rec.messages[1]?.bundles['spiffe://example.org']?.length, h.authority.caDer.length + rotated.caDer.length);
    // The same bytes in a new object: still not a change.
    h.view.setBundle({ ...h.authority.bundleView(), x509Der: Buffer.concat([h.authority.caDer, rotated.caDer]) });
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rec.messages.length, 2);
    rec.call.cancel();
  });

  it('FetchJWTBundles: JWKS per trust domain, pushed once per change', async () => {
    const rec = new StreamRecorder(client.stream<JwtBundlesResponseMsg>('FetchJWTBundles'));
    await rec.messageCount(1);
    const jwks = JSON.parse(rec.messages[0]?.bundles['spiffe://example.org']?.toString('utf8') ?? '{}') as { keys: { kid: string }[] };
    assert.deepEqual(jwks.keys.map((k) => k.kid), [h.authority.jwtKid]);
    h.view.touch();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(rec.messages.length, 1);
    h.view.addIdentity(await h.authority.issue('/fed', [ME], { federatesWith: ['other.org'] }));
    await rec.messageCount(2);
    assert.deepEqual(Object.keys(rec.messages[1]?.bundles ?? {}).sort(), ['spiffe://example.org', 'spiffe://other.org']);
    rec.call.cancel();
  });
});

describe('workload api: JWT-SVIDs', () => {
  let h: Harness;
  let client: TestWorkloadClient;
  beforeEach(async () => {
    h = await startHarness();
    client = new TestWorkloadClient(h.socketPath);
  });
  afterEach(async () => {
    client.close();
    await h.close();
  });

  it('FetchJWTSVID: one token per identity, for the audience, reused from the cache on the next call', async () => {
    h.view.setIdentities([
      await h.authority.issue('/a', [ME], { createdAt: 1, hint: 'first' }),
      await h.authority.issue('/b', [ME], { createdAt: 2 }),
    ]);
    const res = await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['db', 'cache'] });
    assert.deepEqual(res.svids.map((s) => [s.spiffe_id, s.hint]), [['spiffe://example.org/a', 'first'], ['spiffe://example.org/b', '']]);
    for (const s of res.svids) {
      const jwt = parseInsecure(s.svid, ['db']);
      assert.equal(jwt.id.toString(), s.spiffe_id);
      assert.deepEqual(jwt.audience, ['db', 'cache']);
    }
    assert.equal(h.view.jwtMints, 2);
    await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['db', 'cache'] });
    assert.equal(h.view.jwtMints, 2);
  });

  it('FetchJWTSVID: spiffe_id picks one identity; one the caller does not hold is PermissionDenied', async () => {
    h.view.setIdentities([await h.authority.issue('/a', [ME]), await h.authority.issue('/b', [ME])]);
    const res = await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['x'], spiffe_id: 'spiffe://example.org/b' });
    assert.deepEqual(res.svids.map((s) => s.spiffe_id), ['spiffe://example.org/b']);
    await rejectsWith(client.unary('FetchJWTSVID', { audience: ['x'], spiffe_id: 'spiffe://example.org/zzz' }), status.PERMISSION_DENIED, 'no identity issued');
    await rejectsWith(client.unary('FetchJWTSVID', { audience: ['x'], spiffe_id: 'not an id' }), status.INVALID_ARGUMENT, /invalid requested SPIFFE ID/);
  });

  it('FetchJWTSVID: no identity → PermissionDenied; empty audience or an empty value → InvalidArgument', async () => {
    await rejectsWith(client.unary('FetchJWTSVID', { audience: ['x'] }), status.PERMISSION_DENIED, 'no identity issued');
    await rejectsWith(client.unary('FetchJWTSVID', { audience: [] }), status.INVALID_ARGUMENT, 'audience must be specified');
    await rejectsWith(client.unary('FetchJWTSVID', { audience: ['ok', ''] }), status.INVALID_ARGUMENT, /empty value/);
  });

  it("FetchJWTSVID: the cache's failure reaches the caller with its status", async () => {
    h.view.addIdentity(await h.authority.issue('/a', [ME]));
    const { SigilError, Status } = await import('../../../spiffe/errors.js');
    h.view.jwtFailure = new SigilError('SIGIL_TEST', 'server unreachable and nothing cached', { status: Status.UNAVAILABLE });
    await rejectsWith(client.unary('FetchJWTSVID', { audience: ['x'] }), status.UNAVAILABLE, 'server unreachable and nothing cached');
  });

  it('ValidateJWTSVID: subject and claims of a valid token, aud always a list', async () => {
    h.view.addIdentity(await h.authority.issue('/a', [ME]));
    const { svids } = await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['db'] });
    const res = await client.unary<ValidateJwtSvidResponseMsg>('ValidateJWTSVID', { audience: 'db', svid: svids[0]?.svid });
    assert.equal(res.spiffe_id, 'spiffe://example.org/a');
    const claims = fromStruct(res.claims);
    assert.deepEqual(claims['aud'], ['db']);
    assert.equal(claims['sub'], 'spiffe://example.org/a');
    assert.equal(typeof claims['exp'], 'number');
  });

  it('ValidateJWTSVID: wrong audience, bad signature, unknown trust domain → InvalidArgument', async () => {
    h.view.addIdentity(await h.authority.issue('/a', [ME]));
    const { svids } = await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['db'] });
    const token = svids[0]?.svid ?? '';
    await rejectsWith(client.unary('ValidateJWTSVID', { audience: 'other', svid: token }), status.INVALID_ARGUMENT, /audience/);
    const [head, body, sig] = token.split('.');
    const flipped = `${head}.${body}.${sig?.startsWith('A') ? 'B' : 'A'}${sig?.slice(1)}`;
    await rejectsWith(client.unary('ValidateJWTSVID', { audience: 'db', svid: flipped }), status.INVALID_ARGUMENT);
    const stranger = await TestAuthority.create('stranger.org');
    const foreign = await signJwtSvid(
      { id: SpiffeId.fromString('spiffe://stranger.org/x'), audience: ['db'], expiresAt: new Date(Date.now() + 60_000), keyId: stranger.jwtKid },
      stranger.jwtKey,
    );
    await rejectsWith(client.unary('ValidateJWTSVID', { audience: 'db', svid: foreign }), status.INVALID_ARGUMENT, /no bundle found/);
  });

  it("ValidateJWTSVID: a federated trust domain's token validates, with only registered claims passed on", async () => {
    const other = await TestAuthority.create('other.org');
    h.view.addFederated(other);
    h.view.addIdentity(await h.authority.issue('/a', [ME], { federatesWith: ['other.org'] }));
    const token = await signJwtSvid(
      {
        id: SpiffeId.fromString('spiffe://other.org/svc'),
        audience: ['db'],
        expiresAt: new Date(Date.now() + 60_000),
        keyId: other.jwtKid,
        extraClaims: { iss: 'other', secret_group: 'admins' },
      },
      other.jwtKey,
    );
    const res = await client.unary<ValidateJwtSvidResponseMsg>('ValidateJWTSVID', { audience: 'db', svid: token });
    assert.equal(res.spiffe_id, 'spiffe://other.org/svc');
    const claims = fromStruct(res.claims);
    assert.equal(claims['iss'], 'other');
    assert.equal(claims['secret_group'], undefined);
  });

  it('ValidateJWTSVID: missing audience or svid → InvalidArgument', async () => {
    await rejectsWith(client.unary('ValidateJWTSVID', { audience: '', svid: 'a.b.c' }), status.INVALID_ARGUMENT, 'audience must be specified');
    await rejectsWith(client.unary('ValidateJWTSVID', { audience: 'a', svid: '' }), status.INVALID_ARGUMENT, 'svid must be specified');
  });
});
