/**
 * JWT-SVID validation beyond go-spiffe's vectors: the header and claim rules JWT-SVID.md adds,
 * the exact leeway boundaries, check order between failures, and how keys are matched to algs.
 * Tokens are built with jose (or by hand for malformed ones), never with the code under test.
 */
import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import type { JwtAuthorities, JwtBundleSource } from '../../../spiffe/bundle/source.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { JwtSvidError, LEEWAY_SECONDS, parseAndValidate, parseInsecure, type JwtSvid } from '../../../spiffe/jwtsvid/index.js';

const TD = TrustDomain.fromString('example.org');
const T0 = 1_800_000_000; // seconds; every claim below is relative to it
const AT_T0 = new Date(T0 * 1000);

const ec384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const ec256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });

const AUTHORITIES = new Map<string, KeyObject>([
  ['ec384', ec384.publicKey],
  ['ec256', ec256.publicKey],
  ['rsa', rsa.publicKey],
  ['rsa1024', rsa1024.publicKey],
]);

function source(answerWith: TrustDomain = TD): JwtBundleSource {
  return {
    getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
      if (!td.equals(TD)) throw new Error(`no bundle for ${td.name}`);
      return { trustDomain: answerWith, findJwtAuthority: (kid) => AUTHORITIES.get(kid) };
    },
  };
}

const HEADER = { alg: 'ES384', kid: 'ec384', typ: 'JWT' };
const CLAIMS = { sub: 'spiffe://example.org/workload', aud: ['svc'], exp: T0 + 300, iat: T0 };

async function token(
  header: Record<string, unknown> = HEADER,
  claims: Record<string, unknown> = CLAIMS,
  key: KeyObject = ec384.privateKey,
): Promise<string> {
  const payload = new TextEncoder().encode(JSON.stringify(claims));
  return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

/** A correctly signed ES384 token jose would refuse to produce (e.g. with an unknown crit). */
function handSigned(header: Record<string, unknown>, claims: Record<string, unknown> = CLAIMS): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = sign('sha384', Buffer.from(input), { key: ec384.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

async function both(tok: string, audience: string[], now = AT_T0): Promise<[JwtSvid, JwtSvid]> {
  return [parseInsecure(tok, audience, { now }), await parseAndValidate(tok, source(), audience, { now })];
}

async function rejectsBoth(tok: string, message: string, audience: string[] = ['svc'], now = AT_T0): Promise<void> {
  assert.throws(() => parseInsecure(tok, audience, { now }), errorIs(message));
  await assert.rejects(parseAndValidate(tok, source(), audience, { now }), errorIs(message));
}

function errorIs(message: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof JwtSvidError, String(err));
    assert.equal(err.message, message);
    assert.equal(err.code, 'SIGIL_JWTSVID_INVALID');
    return true;
  };
}

describe('jwtsvid validation', () => {
  describe('header (JWT-SVID.md 2: only alg, kid, typ)', () => {
    for (const [name, value] of [
      ['jku', 'https://attacker.example/jwks'],
      ['x5c', ['MIIB']],
      ['crit', ['exp']],
      ['b64', false],
      ['cty', 'JWT'],
    ] as const) {
      it(`rejects an extra ${name} parameter`, async () => {
        const tok = handSigned({ ...HEADER, [name]: value });
        await rejectsBoth(tok, `jwtsvid: token header parameter "${name}" is not allowed (only alg, kid and typ are)`);
      });
    }

    it('accepts typ JOSE and no typ at all', async () => {
      await both(handSigned(HEADER), ['svc']);
      await both(await token({ ...HEADER, typ: 'JOSE' }), ['svc']);
      await both(await token({ alg: 'ES384', kid: 'ec384' }), ['svc']);
    });

    it('rejects a non-string typ as a bad type', async () => {
      await rejectsBoth(await token({ ...HEADER, typ: 1 }), 'jwtsvid: token header type not equal to either JWT or JOSE');
    });

    it('checks alg before typ and before the extra-parameter rule', async () => {
      const tok = `${b64({ alg: 'HS256', typ: 'invalid', jku: 'x' })}.${b64(CLAIMS)}.${b64('sig')}`;
      await rejectsBoth(tok, 'jwtsvid: unable to parse JWT token');
    });

    it('treats an empty kid as missing (ParseAndValidate only)', async () => {
      const tok = await token({ ...HEADER, kid: '' });
      assert.equal(parseInsecure(tok, ['svc'], { now: AT_T0 }).id.toString(), CLAIMS.sub);
      await assert.rejects(parseAndValidate(tok, source(), ['svc'], { now: AT_T0 }), errorIs('jwtsvid: token header missing key id'));
    });

    it('refuses a non-string kid as unparsable, keeping the reason as the cause', async () => {
      const tok = `${b64({ alg: 'ES384', kid: 7 })}.${b64(CLAIMS)}.${b64('sig')}`;
      assert.throws(
        () => parseInsecure(tok, [], { now: AT_T0 }),
        (err: unknown) => err instanceof JwtSvidError && /kid is not a string/.test(String((err.cause as Error).message)),
      );
    });
  });

  describe('compact structure', () => {
    const good = `${b64(HEADER)}.${b64(CLAIMS)}.${b64('sig')}`;
    const cases: Array<[string, string]> = [
      ['two parts', `${b64(HEADER)}.${b64(CLAIMS)}`],
      ['four parts', `${good}.x`],
      ['padded base64', `${b64(HEADER)}=.${b64(CLAIMS)}.${b64('sig')}`],
      ['standard-base64 characters', `${b64(HEADER)}.${b64(CLAIMS)}.ab+/`],
      ['an empty header', `.${b64(CLAIMS)}.${b64('sig')}`],
      ['a header that is a JSON array', `${b64([HEADER])}.${b64(CLAIMS)}.${b64('sig')}`],
      ['a header that is not UTF-8', `${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${b64(CLAIMS)}.x`],
      ['a non-string token', 42 as unknown as string],
    ];
    for (const [what, tok] of cases) {
      it(`refuses ${what}`, async () => {
        await rejectsBoth(tok, 'jwtsvid: unable to parse JWT token');
      });
    }

    it('reports claims that are not a JSON object as a claims error', async () => {
      await rejectsBoth(`${b64(HEADER)}.${b64('[1]')}.${b64('sig')}`, 'jwtsvid: unable to get claims from token: claims are not a JSON object');
    });
  });

  describe('claims', () => {
    const bad: Array<[string, Record<string, unknown>, string]> = [
      ['aud a number', { ...CLAIMS, aud: 5 }, 'claim "aud" must be a string or an array of strings'],
      ['aud holding a number', { ...CLAIMS, aud: ['svc', 5] }, 'claim "aud" must be a string or an array of strings'],
      ['exp a string', { ...CLAIMS, exp: String(T0 + 300) }, 'claim "exp" must be a number of seconds since the epoch'],
      ['nbf beyond any Date', { ...CLAIMS, nbf: 1e300 }, 'claim "nbf" must be a number of seconds since the epoch'],
      ['sub a number', { ...CLAIMS, sub: 5 }, 'claim "sub" must be a string'],
      ['iss an object', { ...CLAIMS, iss: {} }, 'claim "iss" must be a string'],
    ];
    for (const [what, claims, detail] of bad) {
      it(`refuses ${what}`, async () => {
        await rejectsBoth(await token(HEADER, claims), `jwtsvid: unable to get claims from token: ${detail}`);
      });
    }

    it('treats an empty or null sub and a null exp as missing', async () => {
      await rejectsBoth(await token(HEADER, { ...CLAIMS, sub: '' }), 'jwtsvid: token missing subject claim');
      await rejectsBoth(await token(HEADER, { ...CLAIMS, sub: null }), 'jwtsvid: token missing subject claim');
      await rejectsBoth(await token(HEADER, { ...CLAIMS, exp: null }), 'jwtsvid: token missing exp claim');
    });

    it('requires aud even when audiences are expected, and refuses an empty aud list', async () => {
      const { aud: _omit, ...noAud } = CLAIMS;
      await rejectsBoth(await token(HEADER, noAud), 'jwtsvid: token missing aud claim', ['svc']);
      await rejectsBoth(await token(HEADER, { ...CLAIMS, aud: [] }), 'jwtsvid: token has an empty aud claim', []);
    });

    it("formats audiences with Go's %q list syntax", async () => {
      const tok = await token(HEADER, { ...CLAIMS, aud: ['a', 'b"c'] });
      await rejectsBoth(tok, 'jwtsvid: expected audience in ["x" "y\\n"] (audience=["a" "b\\"c"])', ['x', 'y\n']);
    });

    it('accepts a token when any one expected audience matches', async () => {
      const [svid] = await both(await token(HEADER, { ...CLAIMS, aud: ['a', 'b'] }), ['z', 'b']);
      assert.deepEqual(svid.audience, ['a', 'b']);
    });

    it('keeps every claim, drops fractions of exp like go-jose, and keeps the token', async () => {
      const claims = { ...CLAIMS, exp: T0 + 300.9, jti: 'j1', custom: { x: [1] } };
      const tok = await token(HEADER, claims);
      for (const svid of await both(tok, ['svc'])) {
        assert.deepEqual(svid.claims, claims);
        assert.equal(svid.expiry.getTime(), (T0 + 300) * 1000);
        assert.equal(svid.marshal(), tok);
        assert.equal(svid.hint, undefined);
        assert.equal(svid.withHint('internal').hint, 'internal');
      }
    });
  });

  describe('time, with the 60 s leeway', () => {
    const ms = (s: number, extraMs = 0): Date => new Date(s * 1000 + extraMs);
    const leeway = LEEWAY_SECONDS;

    it('exp: valid up to exactly exp + 60 s, expired 1 ms later', async () => {
      const tok = await token(HEADER, { ...CLAIMS, exp: T0, iat: T0 - 10 });
      await both(tok, ['svc'], ms(T0 + leeway));
      await rejectsBoth(tok, 'jwtsvid: token has expired', ['svc'], ms(T0 + leeway, 1));
    });

    it('nbf: valid from exactly nbf - 60 s, not yet valid 1 ms earlier', async () => {
      const tok = await token(HEADER, { ...CLAIMS, nbf: T0 + 100 });
      await both(tok, ['svc'], ms(T0 + 100 - leeway));
      await rejectsBoth(tok, 'jwtsvid: token is not valid yet (nbf)', ['svc'], ms(T0 + 100 - leeway, -1));
    });

    it('iat: valid from exactly iat - 60 s, in the future 1 ms earlier', async () => {
      const tok = await token(HEADER, { ...CLAIMS, iat: T0 + 100 });
      await both(tok, ['svc'], ms(T0 + 100 - leeway));
      await rejectsBoth(tok, 'jwtsvid: token issued in the future (iat)', ['svc'], ms(T0 + 100 - leeway, -1));
    });

    it('checks audience, then nbf, then exp, then iat', async () => {
      const all = { ...CLAIMS, nbf: T0 + 1000, exp: T0 - 1000, iat: T0 + 1000 };
      await rejectsBoth(await token(HEADER, all), 'jwtsvid: expected audience in ["other"] (audience=["svc"])', ['other']);
      await rejectsBoth(await token(HEADER, all), 'jwtsvid: token is not valid yet (nbf)');
      const { nbf: _n, ...expAndIat } = all;
      await rejectsBoth(await token(HEADER, expAndIat), 'jwtsvid: token has expired');
    });

    it('uses the current time by default', async () => {
      const now = Math.floor(Date.now() / 1000);
      const tok = await token(HEADER, { ...CLAIMS, exp: now + 300, iat: now });
      assert.equal((await parseAndValidate(tok, source(), ['svc'])).id.toString(), CLAIMS.sub);
      assert.throws(() => parseInsecure(tok, ['svc'], { now: new Date(NaN) }), TypeError);
    });
  });

  describe('signature and keys', () => {
    const claimsError = (detail: string): string => `jwtsvid: unable to get claims from token: ${detail}`;

    it('verifies RS256 and PS256 with an RSA authority', async () => {
      for (const alg of ['RS256', 'PS256']) {
        const svid = await parseAndValidate(await token({ alg, kid: 'rsa' }, CLAIMS, rsa.privateKey), source(), ['svc'], { now: AT_T0 });
        assert.equal(svid.id.toString(), CLAIMS.sub);
      }
    });

    it('refuses a tampered payload', async () => {
      const [h, , s] = (await token()).split('.');
      const forged = `${h}.${b64({ ...CLAIMS, sub: 'spiffe://example.org/admin' })}.${s}`;
      assert.equal(parseInsecure(forged, ['svc'], { now: AT_T0 }).id.toString(), 'spiffe://example.org/admin');
      await assert.rejects(parseAndValidate(forged, source(), ['svc'], { now: AT_T0 }), errorIs(claimsError('signature verification failed')));
    });

    it('refuses a DER-encoded ECDSA signature (JWS wants r||s)', async () => {
      const input = `${b64(HEADER)}.${b64(CLAIMS)}`;
      const der = sign('sha384', Buffer.from(input), ec384.privateKey);
      await assert.rejects(
        parseAndValidate(`${input}.${der.toString('base64url')}`, source(), ['svc'], { now: AT_T0 }),
        errorIs(claimsError('signature verification failed')),
      );
    });

    it('names the mismatch when the authority cannot verify the alg', async () => {
      const es384ByP256 = await token({ ...HEADER, kid: 'ec256' });
      await assert.rejects(
        parseAndValidate(es384ByP256, source(), ['svc'], { now: AT_T0 }),
        errorIs(claimsError('ES384 needs an EC P-384 key, got an EC P-256 key (JWT authority "ec256")')),
      );
      const rs256ByEc = await token({ alg: 'RS256', kid: 'ec384' }, CLAIMS, rsa.privateKey);
      await assert.rejects(
        parseAndValidate(rs256ByEc, source(), ['svc'], { now: AT_T0 }),
        errorIs(claimsError('RS256 needs an RSA key, got an EC P-384 key (JWT authority "ec384")')),
      );
    });

    it('refuses RSA authorities under 2048 bits', async () => {
      // jose will not sign with a 1024-bit key, so the token is built by hand.
      const input = `${b64({ alg: 'RS256', kid: 'rsa1024' })}.${b64(CLAIMS)}`;
      const sig = sign('sha256', Buffer.from(input), { key: rsa1024.privateKey, padding: constants.RSA_PKCS1_PADDING });
      await assert.rejects(
        parseAndValidate(`${input}.${sig.toString('base64url')}`, source(), ['svc'], { now: AT_T0 }),
        errorIs(claimsError('RS256 needs an RSA key of at least 2048 bits, got 1024 bits (JWT authority "rsa1024")')),
      );
    });

    it('checks the signature before the audience and the times', async () => {
      const { aud: _a, ...noAud } = CLAIMS;
      const [h, , s] = (await token()).split('.');
      const forged = `${h}.${b64({ ...noAud, exp: T0 - 1000 })}.${s}`;
      await assert.rejects(parseAndValidate(forged, source(), ['svc'], { now: AT_T0 }), errorIs(claimsError('signature verification failed')));
    });

    it('never uses keys of another trust domain, even if the source hands them out', async () => {
      const other = TrustDomain.fromString('other.org');
      await assert.rejects(parseAndValidate(await token(), source(other), ['svc'], { now: AT_T0 }), (err: unknown) => {
        errorIs('jwtsvid: no bundle found for trust domain "example.org"')(err);
        assert.match(String((err as Error).cause), /other\.org/);
        return true;
      });
    });

    it("keeps the bundle source's error as the cause", async () => {
      const tok = await token(HEADER, { ...CLAIMS, sub: 'spiffe://elsewhere.test/w' });
      await assert.rejects(parseAndValidate(tok, source(), ['svc'], { now: AT_T0 }), (err: unknown) => {
        errorIs('jwtsvid: no bundle found for trust domain "elsewhere.test"')(err);
        assert.equal(((err as Error).cause as Error).message, 'no bundle for elsewhere.test');
        return true;
      });
    });
  });
});
