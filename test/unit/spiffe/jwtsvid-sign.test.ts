/**
 * JWT-SVID signing: every allowed alg round-trips through our validator and through jose's
 * jwtVerify (an independent implementation); the external-signer path for HSM keys, including
 * DER-returning ECDSA signers; and the inputs signing refuses.
 */
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import type { JwtAuthorities, JwtBundleSource } from '../../../spiffe/bundle/source.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import {
  JwtSvidError,
  defaultAlgorithm,
  parseAndValidate,
  parseInsecure,
  signJwtSvid,
  type JwtAlgorithm,
  type JwtSigner,
  type JwtSvidParams,
} from '../../../spiffe/jwtsvid/index.js';
import { Status } from '../../../spiffe/errors.js';

const TD = TrustDomain.fromString('example.org');
const ID = SpiffeId.fromString('spiffe://example.org/ns/default/sa/web');
const ISSUED = new Date('2027-01-15T10:00:00.750Z');
const EXPIRES = new Date('2027-01-15T10:05:00.250Z');
const AT = new Date('2027-01-15T10:01:00Z');

const keys = {
  p256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  p384: generateKeyPairSync('ec', { namedCurve: 'P-384' }),
  p521: generateKeyPairSync('ec', { namedCurve: 'P-521' }),
  rsa: generateKeyPairSync('rsa', { modulusLength: 2048 }),
};
const KEY_FOR: Record<JwtAlgorithm, keyof typeof keys> = {
  ES256: 'p256',
  ES384: 'p384',
  ES512: 'p521',
  RS256: 'rsa',
  RS384: 'rsa',
  RS512: 'rsa',
  PS256: 'rsa',
  PS384: 'rsa',
  PS512: 'rsa',
};

const bundles: JwtBundleSource = {
  getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
    if (!td.equals(TD)) throw new Error(`no bundle for ${td.name}`);
    return { trustDomain: TD, findJwtAuthority: (kid) => (kid in keys ? keys[kid as keyof typeof keys].publicKey : undefined) };
  },
};

function params(overrides: Partial<JwtSvidParams> = {}): JwtSvidParams {
  return { id: ID, audience: ['svc'], expiresAt: EXPIRES, issuedAt: ISSUED, keyId: 'p384', ...overrides };
}

function payloadOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** A signer the way an HSM is: it signs the raw input itself and knows nothing of JWS. */
function externalSigner(alg: JwtAlgorithm, key: KeyObject, dsaEncoding?: 'der' | 'ieee-p1363'): JwtSigner & { inputs: Uint8Array[] } {
  const inputs: Uint8Array[] = [];
  const hash = `sha${alg.slice(2)}`;
  return {
    alg,
    ...(dsaEncoding === undefined ? {} : { dsaEncoding }),
    inputs,
    async sign(input) {
      inputs.push(input);
      if (alg.startsWith('ES')) return sign(hash, input, { key, dsaEncoding: dsaEncoding ?? 'ieee-p1363' });
      if (alg.startsWith('PS')) return sign(hash, input, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 });
      return sign(hash, input, key);
    },
  };
}

async function assertRoundTrip(token: string, alg: JwtAlgorithm, kid: string): Promise<void> {
  assert.equal(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString(), JSON.stringify({ alg, kid, typ: 'JWT' }));
  const svid = await parseAndValidate(token, bundles, ['svc'], { now: AT });
  assert.equal(svid.id.toString(), ID.toString());
  assert.deepEqual(svid.audience, ['svc']);
  assert.equal(svid.expiry.toISOString(), '2027-01-15T10:05:00.000Z');
  assert.deepEqual(svid.claims, { sub: ID.toString(), aud: 'svc', exp: 1800007500, iat: 1800007200 });
  const verified = await jwtVerify(token, keys[kid as keyof typeof keys].publicKey, {
    algorithms: [alg],
    audience: 'svc',
    subject: ID.toString(),
    currentDate: AT,
  });
  assert.equal(verified.protectedHeader.alg, alg);
}

describe('jwtsvid signing', () => {
  describe('with a KeyObject', () => {
    for (const alg of Object.keys(KEY_FOR) as JwtAlgorithm[]) {
      it(`${alg} round-trips through parseAndValidate and jose`, async () => {
        const kid = KEY_FOR[alg];
        await assertRoundTrip(await signJwtSvid(params({ alg, keyId: kid }), keys[kid].privateKey), alg, kid);
      });
    }

    it('picks the alg from the key: P-256/384/521 → ES256/384/512, RSA → RS256', async () => {
      const expected: Array<[keyof typeof keys, JwtAlgorithm]> = [['p256', 'ES256'], ['p384', 'ES384'], ['p521', 'ES512'], ['rsa', 'RS256']];
      for (const [kid, alg] of expected) {
        assert.equal(defaultAlgorithm(keys[kid].privateKey), alg);
        const token = await signJwtSvid(params({ keyId: kid }), keys[kid].privateKey);
        assert.equal(decodeProtectedHeader(token).alg, alg);
      }
    });

    it('writes one audience as a string and several as a list, both accepted back', async () => {
      const one = await signJwtSvid(params(), keys.p384.privateKey);
      assert.equal(payloadOf(one)['aud'], 'svc');
      const two = await signJwtSvid(params({ audience: ['a', 'b'] }), keys.p384.privateKey);
      assert.deepEqual(payloadOf(two)['aud'], ['a', 'b']);
      assert.deepEqual(parseInsecure(two, ['b'], { now: AT }).audience, ['a', 'b']);
    });

    it('adds extra claims after the JWT-SVID ones', async () => {
      const extraClaims = { iss: 'https://sigil.example', jti: 'x1', nbf: 1800007200, groups: ['a'] };
      const token = await signJwtSvid(params({ extraClaims }), keys.p384.privateKey);
      assert.deepEqual(Object.keys(payloadOf(token)), ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'groups']);
      assert.deepEqual(parseInsecure(token, ['svc'], { now: AT }).claims['groups'], ['a']);
    });

    it('defaults issuedAt to now', async () => {
      const before = Math.floor(Date.now() / 1000);
      const { issuedAt: _drop, ...rest } = params({ expiresAt: new Date(Date.now() + 300_000) });
      const iat = payloadOf(await signJwtSvid(rest, keys.p384.privateKey))['iat'] as number;
      assert.ok(iat >= before && iat <= Math.floor(Date.now() / 1000));
    });
  });

  describe('with an external signer', () => {
    for (const alg of ['ES256', 'ES384', 'ES512', 'RS256', 'PS256'] as const) {
      it(`${alg} signs the exact JWS signing input and round-trips`, async () => {
        const kid = KEY_FOR[alg];
        const signer = externalSigner(alg, keys[kid].privateKey);
        const token = await signJwtSvid(params({ keyId: kid }), signer);
        assert.equal(signer.inputs.length, 1);
        assert.equal(Buffer.from(signer.inputs[0] ?? []).toString('ascii'), token.split('.').slice(0, 2).join('.'));
        await assertRoundTrip(token, alg, kid);
      });
    }

    for (const alg of ['ES256', 'ES384', 'ES512'] as const) {
      it(`${alg} converts a DER signature to r||s when the signer says it returns DER`, async () => {
        const kid = KEY_FOR[alg];
        // Many tokens, so r and s with leading zero bytes (shorter DER integers) turn up.
        for (let i = 0; i < 40; i++) {
          const token = await signJwtSvid(params({ keyId: kid, extraClaims: { jti: String(i) } }), externalSigner(alg, keys[kid].privateKey, 'der'));
          await parseAndValidate(token, bundles, ['svc'], { now: AT });
        }
      });
    }

    it('refuses a DER signature from a signer that did not declare it', async () => {
      const undeclared: JwtSigner = { alg: 'ES384', sign: async (input) => sign('sha384', input, keys.p384.privateKey) };
      await assert.rejects(signJwtSvid(params(), undeclared), (err: unknown) => {
        assert.ok(err instanceof JwtSvidError);
        assert.match(
          err.message,
          /^jwtsvid: signing failed: the signer returned \d+ bytes for ES384, expected 96 \(r\|\|s\); set dsaEncoding: 'der' if it returns DER$/,
        );
        assert.equal(err.status, Status.INTERNAL);
        return true;
      });
    });

    it('refuses malformed DER and empty signatures', async () => {
      const garbage: JwtSigner = { alg: 'ES256', dsaEncoding: 'der', sign: async () => new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]) };
      await assert.rejects(signJwtSvid(params({ keyId: 'p256' }), garbage), { message: 'jwtsvid: signing failed: the signer returned a malformed DER ES256 signature' });
      const empty: JwtSigner = { alg: 'RS256', sign: async () => new Uint8Array() };
      await assert.rejects(signJwtSvid(params({ keyId: 'rsa' }), empty), { message: 'jwtsvid: signing failed: the signer returned no signature' });
    });

    it("passes the signer's own errors through unchanged", async () => {
      const hsmDown = new Error('CKR_DEVICE_REMOVED');
      const failing: JwtSigner = { alg: 'ES384', sign: async () => Promise.reject(hsmDown) };
      await assert.rejects(signJwtSvid(params(), failing), (err: unknown) => err === hsmDown);
    });

    it("refuses an alg that disagrees with the signer's", async () => {
      await assert.rejects(signJwtSvid(params({ alg: 'ES256' }), externalSigner('ES384', keys.p384.privateKey)), {
        message: 'jwtsvid: cannot sign: alg ES256 was asked for but the signer signs ES384',
      });
      const bogus = { alg: 'HS256', sign: async () => new Uint8Array(32) } as unknown as JwtSigner;
      await assert.rejects(signJwtSvid(params(), bogus), { message: 'jwtsvid: cannot sign: signer alg "HS256" is not allowed for JWT-SVIDs' });
    });
  });

  describe('refuses', () => {
    const cases: Array<[string, Partial<JwtSvidParams>, KeyObject, string]> = [
      ['an empty audience list', { audience: [] }, keys.p384.privateKey, 'audience must hold at least one value'],
      ['an empty audience value', { audience: ['svc', ''] }, keys.p384.privateKey, 'audience values must be non-empty strings'],
      ['an empty key ID', { keyId: '' }, keys.p384.privateKey, 'key ID cannot be empty'],
      ['expiry not after issue', { expiresAt: new Date(ISSUED.getTime() + 200) }, keys.p384.privateKey, 'expiresAt must be at least a second after issuedAt'],
      ['an invalid Date', { expiresAt: new Date(NaN) }, keys.p384.privateKey, 'expiresAt is not a valid Date'],
      ['overriding sub', { extraClaims: { sub: 'spiffe://example.org/admin' } }, keys.p384.privateKey, 'extra claim "sub" would override a JWT-SVID claim'],
      ['an extra claim go-jose cannot decode', { extraClaims: { iss: 5 } }, keys.p384.privateKey, 'claim "iss" must be a string'],
      ['an nbf after iat', { extraClaims: { nbf: Math.floor(ISSUED.getTime() / 1000) + 1 } }, keys.p384.privateKey, 'extra claim "nbf" must not be after issuedAt'],
      ['a public key', {}, keys.p384.publicKey, 'the key must be a private key, got a public key'],
      ['an alg the key cannot make', { alg: 'ES256' }, keys.p384.privateKey, 'ES256 needs an EC P-256 key, got an EC P-384 key'],
      ['PS256 with an EC key', { alg: 'PS256' }, keys.p256.privateKey, 'PS256 needs an RSA key, got an EC P-256 key'],
      ['an alg outside the allow-list', { alg: 'HS256' as JwtAlgorithm }, keys.p384.privateKey, 'alg "HS256" is not allowed for JWT-SVIDs'],
      ['an Ed25519 key', {}, generateKeyPairSync('ed25519').privateKey, 'no JWT-SVID algorithm signs with an Ed25519 key'],
      ['an RSA key under 2048 bits', {}, generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'RS256 needs an RSA key of at least 2048 bits, got 1024 bits'],
    ];
    for (const [what, overrides, key, detail] of cases) {
      it(what, async () => {
        await assert.rejects(signJwtSvid(params(overrides), key), (err: unknown) => {
          assert.ok(err instanceof JwtSvidError, String(err));
          assert.equal(err.message, `jwtsvid: cannot sign: ${detail}`);
          assert.equal(err.status, Status.INVALID_ARGUMENT);
          return true;
        });
      });
    }
  });
});
