/** JWT-SVIDs from ServerCa, validated with spiffe/'s parseAndValidate against the published bundle. */
import assert from 'node:assert/strict';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { newKid } from '../../../server/ca/jwt-issuer.js';
import type { KeyType } from '../../../server/keymanager/key-manager.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { startTestCa } from '../../fakes/ca-harness.js';

const WORKLOAD = SpiffeId.fromString('spiffe://example.org/ns/prod/sa/web');
const T0 = new Date('2030-01-01T00:00:00Z');

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('ServerCa: JWT-SVIDs', function () {
  this.timeout(30_000);

  const algs: [KeyType, string][] = [['ec-p256', 'ES256'], ['ec-p384', 'ES384'], ['rsa-2048', 'RS256']];
  for (const [keyType, alg] of algs) {
    it(`signs ${alg} tokens with a ${keyType} key that validate against the bundle`, async () => {
      const { ca } = await startTestCa({ keyType });
      const issued = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['spiffe://example.org/db', 'other'] });
      const h = header(issued.token);
      assert.equal(h['alg'], alg);
      assert.equal(h['typ'], 'JWT');
      assert.match(String(h['kid']), /^[A-Za-z0-9]{32}$/);
      assert.equal(h['kid'], issued.keyId);
      const bundle = await ca.bundle();
      assert.ok(bundle.findJwtAuthority(issued.keyId) !== undefined);
      const svid = await parseAndValidate(issued.token, bundle, ['spiffe://example.org/db']);
      assert.equal(svid.id.toString(), WORKLOAD.toString());
      await assert.rejects(parseAndValidate(issued.token, bundle, ['someone-else']));
    });
  }

  it('uses jwtKeyType when given, apart from the CA key type', async () => {
    const { ca } = await startTestCa({ keyType: 'ec-p384', jwtKeyType: 'rsa-2048' });
    const issued = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'] });
    assert.equal(header(issued.token)['alg'], 'RS256');
  });

  it('lives 5 minutes by default, or as asked', async () => {
    let now = T0;
    const { ca } = await startTestCa({ now: () => now });
    const issued = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'] });
    assert.equal(issued.issuedAt.getTime(), T0.getTime());
    assert.equal(issued.expiresAt.getTime(), T0.getTime() + 300_000);
    const svid = await parseAndValidate(issued.token, await ca.bundle(), ['a'], { now: T0 });
    assert.equal(svid.expiry.getTime(), T0.getTime() + 300_000);
    now = new Date(T0.getTime() + 1000);
    const longer = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'], ttlSeconds: 3600 });
    assert.equal(longer.expiresAt.getTime(), now.getTime() + 3600_000);
  });

  it("is capped at the JWT key's expiry, and refused once it has passed", async () => {
    let now = T0;
    const { ca } = await startTestCa({ now: () => now, caTtlSeconds: 3600 });
    now = new Date(T0.getTime() + 3600_000 - 60_000);
    const issued = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'] });
    assert.equal(issued.expiresAt.getTime(), T0.getTime() + 3600_000);
    now = new Date(T0.getTime() + 3600_000);
    await assert.rejects(ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'] }), (err: unknown) => {
      assert.ok(err instanceof CaError);
      assert.equal(err.code, CaErrorCode.unavailable);
      assert.match(err.message, /^ca: JWT key [A-Za-z0-9]{32} expired at 2030-01-01T01:00:00\.000Z: no JWT-SVID can be signed/);
      return true;
    });
  });

  it('refuses another trust domain, no audience, and a bad TTL', async () => {
    const { ca } = await startTestCa();
    await assert.rejects(
      ca.issueJwtSvid({ spiffeId: SpiffeId.fromString('spiffe://other.org/x'), audience: ['a'] }),
      /^CaError: ca: SPIFFE ID "spiffe:\/\/other\.org\/x" is not in trust domain "example\.org"/,
    );
    await assert.rejects(ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: [] }), /audience must hold at least one value/);
    await assert.rejects(
      ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['a'], ttlSeconds: 1.5 }),
      /^CaError: ca: JWT-SVID TTL must be a whole number of seconds above 0, got 1\.5$/,
    );
  });

  it('makes kids of 32 characters from [A-Za-z0-9], all different', () => {
    const kids = Array.from({ length: 2000 }, newKid);
    for (const k of kids) assert.match(k, /^[A-Za-z0-9]{32}$/);
    assert.equal(new Set(kids).size, kids.length);
    const seen = new Set(kids.join(''));
    assert.equal(seen.size, 62, 'every character of the alphabet turns up');
  });
});
