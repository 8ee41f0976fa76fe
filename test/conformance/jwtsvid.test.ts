/**
 * go-spiffe's JWT-SVID scenarios (shared/conformance/jwtsvid_cases.json), one test each, named by
 * the case. Tokens are built here at run time with jose, independently of the code under test,
 * from each case's header and claims ("now±Ns" relative to a fixed instant). Where sigil
 * deliberately differs, DIVERGENCES gives our outcome and the reason, which goes in the test name.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CompactSign, FlattenedSign, GeneralSign } from 'jose';
import type { JwtAuthorities, JwtBundleSource } from '../../spiffe/bundle/source.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { JwtSvid, JwtSvidError, parseAndValidate, parseInsecure } from '../../spiffe/jwtsvid/index.js';
import { readSharedJson } from '../support/shared.js';

interface Case {
  name: string;
  function: string;
  token?: string;
  header?: Record<string, string>;
  claims?: Record<string, unknown>;
  signed_with?: 'key1' | 'key2';
  expected_audience?: string[] | null;
  valid: boolean;
  error: string | null;
  expect?: { id: string; audience: string[] };
}

interface CaseFile {
  cases: Case[];
}

interface Divergence {
  error: string | null;
  why: string;
}

const DIVERGENCES: Readonly<Record<string, Divergence>> = {
  'signature by a different key than kid names': {
    error:
      'jwtsvid: unable to get claims from token: RS256 needs an RSA key, got an EC P-384 key (JWT authority "authority1")',
    why: "the text after go-spiffe's prefix is go-jose's; sigil says which key could not verify which alg",
  },
  'nbf in the future': {
    error: 'jwtsvid: token is not valid yet (nbf)',
    why: "go-spiffe passes go-jose's bare text through; sigil keeps the jwtsvid: prefix on every error",
  },
  'iat in the future': {
    error: 'jwtsvid: token issued in the future (iat)',
    why: "go-spiffe passes go-jose's bare text (with its 'validation field' typo) through; sigil keeps the prefix",
  },
  'aud missing, caller passes an empty expected-audience list': {
    error: 'jwtsvid: token missing aud claim',
    why: 'JWT-SVID.md 3 says validators MUST reject a token without aud; go-spiffe only looks at aud when given audiences',
  },
};

const file = readSharedJson<CaseFile>('conformance', 'jwtsvid_cases.json');
const TD = TrustDomain.fromString('trustdomain');
const DEFAULT_HEADER = { alg: 'ES384', kid: 'authority1', typ: 'JWT' };
const DEFAULT_CLAIMS = { sub: 'spiffe://trustdomain/host', iss: 'issuer', aud: ['audience'], exp: 'now+60s', iat: 'now' };

// Half a second past a whole second: go-spiffe's "exp=now-60s is expired" vector relies on some
// time passing between signing and checking, so "now" must not fall exactly on exp's second.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000 + 500);
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

const key1 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
const key2 = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEYS = { key1: key1.privateKey, key2: key2.privateKey };

const bundles: JwtBundleSource = {
  getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
    if (!td.equals(TD)) throw new Error(`no JWT bundle for trust domain "${td.name}"`);
    const keys = new Map<string, KeyObject>([
      ['authority1', key1.publicKey],
      ['authority2', key2.publicKey],
    ]);
    return { trustDomain: TD, findJwtAuthority: (kid) => keys.get(kid) };
  },
};

function resolveTime(value: unknown): unknown {
  const m = typeof value === 'string' ? /^now(?:([+-])(\d+)s)?$/.exec(value) : null;
  if (m === null) return value;
  const offset = m[2] === undefined ? 0 : Number(m[2]) * (m[1] === '-' ? -1 : 1);
  return NOW_SECONDS + offset;
}

async function sign(header: Record<string, string>, claims: Record<string, unknown>, key: KeyObject | Uint8Array): Promise<string> {
  const resolved = Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, resolveTime(v)]));
  const payload = new TextEncoder().encode(JSON.stringify(resolved));
  return new CompactSign(payload).setProtectedHeader(header as { alg: string }).sign(key);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** The vectors without a token or header: every refused alg, and both JSON serializations. */
async function specialTokens(c: Case): Promise<Array<[string, string]> | undefined> {
  const claims = c.claims ?? DEFAULT_CLAIMS;
  const payload = new TextEncoder().encode(JSON.stringify(Object.fromEntries(Object.entries(claims).map(([k, v]) => [k, resolveTime(v)]))));
  if (c.name === 'alg none / HS* / EdDSA') {
    const ed = generateKeyPairSync('ed25519').privateKey;
    const secret = new Uint8Array(64).fill(7);
    const tokens: Array<[string, string]> = [['none', `${b64({ alg: 'none', typ: 'JWT' })}.${Buffer.from(payload).toString('base64url')}.`]];
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      tokens.push([alg, await sign({ alg, kid: 'authority1', typ: 'JWT' }, claims, secret)]);
    }
    for (const alg of ['EdDSA', 'Ed25519']) tokens.push([alg, await sign({ alg, kid: 'authority1', typ: 'JWT' }, claims, ed)]);
    return tokens;
  }
  if (c.name === 'JWS JSON serialization') {
    const flat = await new FlattenedSign(payload).setProtectedHeader(DEFAULT_HEADER).sign(KEYS.key1);
    const general = await new GeneralSign(payload).addSignature(KEYS.key1).setProtectedHeader(DEFAULT_HEADER).done().sign();
    return [
      ['flattened', JSON.stringify(flat)],
      ['general', JSON.stringify(general)],
    ];
  }
  return undefined;
}

async function tokensFor(c: Case): Promise<Array<[string, string]>> {
  if (c.token !== undefined) return [['token', c.token]];
  const special = await specialTokens(c);
  if (special !== undefined) return special;
  const header = c.header ?? DEFAULT_HEADER;
  const key = KEYS[c.signed_with ?? (header['alg']?.startsWith('ES') ? 'key1' : 'key2')];
  return [['token', await sign(header, c.claims ?? DEFAULT_CLAIMS, key)]];
}

async function run(fn: string, token: string, audience: string[]): Promise<JwtSvid> {
  if (fn === 'ParseInsecure') return parseInsecure(token, audience, { now: NOW });
  if (fn === 'ParseAndValidate') return parseAndValidate(token, bundles, audience, { now: NOW });
  throw new Error(`unknown function ${fn}`);
}

describe('conformance: JWT-SVID (go-spiffe svid/jwtsvid)', () => {
  const ran = new Set<string>();

  for (const c of file.cases) {
    const divergence = DIVERGENCES[c.name];
    const title = divergence === undefined ? c.name : `${c.name} (sigil differs: ${divergence.why})`;
    it(title, async () => {
      ran.add(c.name);
      const error = divergence === undefined ? c.error : divergence.error;
      const valid = divergence === undefined ? c.valid : divergence.error === null;
      const audience = c.expected_audience ?? [];
      for (const fn of c.function.split('/')) {
        for (const [label, token] of await tokensFor(c)) {
          const what = `${fn} (${label})`;
          if (!valid) {
            await assert.rejects(run(fn, token, audience), (err: unknown) => {
              assert.ok(err instanceof JwtSvidError, `${what}: ${String(err)}`);
              assert.equal(err.code, 'SIGIL_JWTSVID_INVALID');
              assert.equal(err.message, error, what);
              return true;
            });
            continue;
          }
          const svid = await run(fn, token, audience);
          const claims = c.claims ?? DEFAULT_CLAIMS;
          const aud = claims['aud'];
          assert.equal(svid.id.toString(), c.expect?.id ?? claims['sub'], what);
          assert.deepEqual(svid.audience, c.expect?.audience ?? (typeof aud === 'string' ? [aud] : aud), what);
          assert.equal(svid.token, token, what);
          assert.equal(svid.expiry.getTime(), (resolveTime(claims['exp']) as number) * 1000, what);
        }
      }
    });
  }

  it('ran every case in the file', () => {
    assert.equal(new Set(file.cases.map((c) => c.name)).size, file.cases.length, 'case names are unique');
    assert.equal(ran.size, file.cases.length);
  });
});
