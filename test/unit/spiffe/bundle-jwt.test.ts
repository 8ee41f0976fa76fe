import { strict as assert } from 'node:assert';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { JwtBundle, WitBundle } from '../../../spiffe/bundle/index.js';
import { makeKey, td, type KeyKind } from '../../support/bundle-authorities.js';
import { rejects } from '../../support/bundle-errors.js';

const jwk = (key: KeyObject, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  ...key.export({ format: 'jwk' }),
  ...extra,
});
const jwks = (...keys: Record<string, unknown>[]): string => JSON.stringify({ keys });

describe('bundle: JwtBundle', () => {
  const kinds: KeyKind[] = ['P-256', 'P-384', 'P-521', 'RSA', 'Ed25519'];
  const keys = new Map<KeyKind, KeyObject>(kinds.map((k) => [k, makeKey(k)]));
  const key = (k: KeyKind): KeyObject => keys.get(k) ?? assert.fail(k);

  it('round-trips every supported key type', () => {
    const bundle = new JwtBundle(td(), kinds.map((k) => [`kid-${k}`, key(k)] as const));
    const back = JwtBundle.parse(td(), bundle.marshal());
    assert.ok(back.equals(bundle));
    for (const k of kinds) assert.ok(back.findJwtAuthority(`kid-${k}`)?.equals(key(k)), k);
  });

  it('marshals a plain JWKS: kid on every key, no use, sorted by kid, same bytes for equal bundles', () => {
    const a = new JwtBundle(td(), [
      ['b', key('P-256')],
      ['a', key('RSA')],
    ]);
    const b = new JwtBundle(td(), [
      ['a', key('RSA')],
      ['b', key('P-256')],
    ]);
    assert.equal(a.marshal(), b.marshal());
    const doc = JSON.parse(a.marshal()) as { keys: Record<string, unknown>[] };
    assert.deepEqual(
      doc.keys.map((k) => k['kid']),
      ['a', 'b'],
    );
    assert.ok(doc.keys.every((k) => !('use' in k) && !('d' in k)));
    assert.deepEqual(Object.keys(doc.keys[1] ?? {}), ['kty', 'kid', 'crv', 'x', 'y']);
    assert.equal(new JwtBundle(td()).marshal(), '{"keys":[]}');
    assert.ok(JwtBundle.parse(td(), '{"keys":[]}').isEmpty());
  });

  it('ignores use, as go-spiffe does for plain JWK sets', () => {
    const doc = jwks(jwk(key('P-256'), { kid: 'a', use: 'x509-svid' }), jwk(key('RSA'), { kid: 'b', use: 'whatever' }));
    assert.deepEqual([...JwtBundle.parse(td(), doc).jwtAuthorities().keys()], ['a', 'b']);
  });

  it('reads an absent or null keys member, or a null document, as an empty bundle (go-spiffe)', () => {
    assert.ok(JwtBundle.parse(td(), '{}').isEmpty());
    assert.ok(JwtBundle.parse(td(), '{"keys":null}').isEmpty());
    assert.ok(JwtBundle.parse(td(), 'null').isEmpty());
  });

  it('rejects malformed documents with the go-spiffe prefix and our reason', () => {
    rejects(() => JwtBundle.parse(td(), ''), 'jwtbundle: unable to parse JWKS: unexpected end of JSON input');
    rejects(
      () => JwtBundle.parse(td(), '{"keys":[],"keys":[]}'),
      'jwtbundle: unable to parse JWKS: duplicate object key "keys" in $ at offset 11',
    );
    rejects(() => JwtBundle.parse(td(), '[]'), 'jwtbundle: unable to parse JWKS: document must be a JSON object');
    rejects(() => JwtBundle.parse(td(), '{"keys":{}}'), 'jwtbundle: unable to parse JWKS: "keys" must be an array');
    rejects(() => JwtBundle.parse(td(), '{"keys":[1]}'), 'jwtbundle: unable to parse JWKS: key 0: must be a JSON object');
  });

  it('rejects keys it cannot use, before looking for a missing kid (go-jose decodes first)', () => {
    // Key 1 has no kid; key 2 is bad: the decoding error wins.
    const good = jwk(key('P-256'), { kid: 'a' });
    const cases: [Record<string, unknown>, string | RegExp][] = [
      [{ kty: 'oct', k: 'AAAA', kid: 'x' }, 'key 2: unsupported key type "oct"'],
      [{ kid: 'x', crv: 'P-256' }, 'key 2: missing key type ("kty")'],
      [{ ...jwk(key('P-256')), crv: 'P-192' }, 'key 2: unsupported elliptic curve "P-192"'],
      [{ ...jwk(key('Ed25519')), crv: 'Ed448' }, 'key 2: unsupported OKP curve "Ed448"'],
      [{ ...jwk(key('P-256')), x: 'AAAA' }, 'key 2: invalid EC key: "x" must be 32 bytes, got 3'],
      [{ ...jwk(key('P-256')), y: undefined }, 'key 2: invalid EC key: missing "y"'],
      [{ ...jwk(key('P-256')), x: 'a*b' }, 'key 2: "x" is not valid base64url'],
      [{ ...jwk(key('P-256')), x: jwk(key('P-256'))['y'] }, /^jwtbundle: unable to parse JWKS: key 2: invalid EC key: /],
      [{ ...jwk(key('RSA')), e: '' }, 'key 2: invalid RSA key: missing "e"'],
      [{ ...jwk(key('P-256')), kid: 7 }, 'key 2: "kid" must be a string'],
      [jwk(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), 'key 2: must not contain private key member "d"'],
    ];
    for (const [bad, reason] of cases) {
      const doc = jwks(good, jwk(key('RSA')), bad);
      const expected = typeof reason === 'string' ? `jwtbundle: unable to parse JWKS: ${reason}` : reason;
      rejects(() => JwtBundle.parse(td(), doc), expected);
    }
  });

  it('requires a kid on every key, naming the index', () => {
    const doc = jwks(jwk(key('P-256'), { kid: 'a' }), jwk(key('RSA'), { kid: '' }));
    rejects(() => JwtBundle.parse(td(), doc), 'jwtbundle: error adding authority 1 of JWKS: keyID cannot be empty');
  });

  it('accepts a kid repeated for the same key, and rejects one that names two keys', () => {
    const same = jwks(jwk(key('P-256'), { kid: 'a' }), jwk(key('P-256'), { kid: 'a' }));
    assert.equal(JwtBundle.parse(td(), same).jwtAuthorities().size, 1);
    const two = jwks(jwk(key('P-256'), { kid: 'a' }), jwk(key('P-384'), { kid: 'a' }));
    rejects(() => JwtBundle.parse(td(), two), 'jwtbundle: error adding authority 1 of JWKS: keyID "a" is used by two different keys');
  });

  it('adds, replaces, finds and removes authorities', () => {
    const bundle = new JwtBundle(td());
    bundle.addJwtAuthority('k', key('P-256'));
    bundle.addJwtAuthority('k', key('RSA'));
    assert.ok(bundle.findJwtAuthority('k')?.equals(key('RSA')));
    assert.ok(bundle.hasJwtAuthority('k'));
    assert.equal(bundle.findJwtAuthority('nope'), undefined);
    assert.equal(bundle.removeJwtAuthority('k'), true);
    assert.equal(bundle.removeJwtAuthority('k'), false);
    assert.ok(bundle.isEmpty());
    bundle.setJwtAuthorities(new Map([['z', key('Ed25519')]]));
    assert.deepEqual([...bundle.jwtAuthorities().keys()], ['z']);
  });

  it('refuses authorities that are not public keys of a supported type', () => {
    const bundle = new JwtBundle(td());
    rejects(() => bundle.addJwtAuthority('', key('P-256')), 'jwtbundle: keyID cannot be empty');
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    rejects(() => bundle.addJwtAuthority('p', privateKey), 'jwtbundle: JWT authority "p": must be a public key, got a private key');
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey;
    rejects(() => bundle.addJwtAuthority('k1', k1), 'jwtbundle: JWT authority "k1": unsupported elliptic curve "secp256k1"');
    const x25519 = generateKeyPairSync('x25519').publicKey;
    rejects(() => new JwtBundle(td(), [['x', x25519]]), 'jwtbundle: JWT authority "x": unsupported key type "x25519"');
    assert.ok(bundle.isEmpty());
  });

  it('hands out copies; equality compares trust domain and key material', () => {
    const bundle = new JwtBundle(td(), [['a', key('P-256')]]);
    (bundle.jwtAuthorities() as Map<string, KeyObject>).set('b', key('RSA'));
    assert.equal(bundle.hasJwtAuthority('b'), false);
    const clone = bundle.clone();
    assert.ok(clone.equals(bundle));
    clone.addJwtAuthority('a', key('P-384'));
    assert.ok(!clone.equals(bundle));
    assert.ok(!bundle.equals(new JwtBundle(td('other.test'), [['a', key('P-256')]])));
  });

  it('is a JwtBundleSource for its own trust domain only', () => {
    const bundle = new JwtBundle(td(), [['a', key('P-256')]]);
    assert.equal(bundle.getJwtBundleForTrustDomain(td()), bundle);
    const err = rejects(() => bundle.getJwtBundleForTrustDomain(td('other.test')), 'jwtbundle: no JWT bundle for trust domain "other.test"');
    assert.equal(err.status, 5);
  });
});

describe('bundle: WitBundle', () => {
  const p256 = makeKey('P-256');
  const ed = makeKey('Ed25519');

  it('round-trips and parses like a JWT bundle', () => {
    const bundle = new WitBundle(td(), [
      ['w2', ed],
      ['w1', p256],
    ]);
    const back = WitBundle.parse(td(), bundle.marshal());
    assert.ok(back.equals(bundle));
    assert.deepEqual([...back.witAuthorities().keys()], ['w1', 'w2']);
    assert.ok(back.findWitAuthority('w2')?.equals(ed));
  });

  it('words its errors as witbundle', () => {
    rejects(() => WitBundle.parse(td(), jwks(jwk(p256))), 'witbundle: error adding authority 0 of JWKS: keyID cannot be empty');
    rejects(() => WitBundle.parse(td(), ''), 'witbundle: unable to parse JWKS: unexpected end of JSON input');
    rejects(() => new WitBundle(td()).addWitAuthority('', p256), 'witbundle: keyID cannot be empty');
    rejects(() => new WitBundle(td()).getWitBundleForTrustDomain(td('x.test')), 'witbundle: no WIT bundle for trust domain "x.test"');
  });

  it('adds, finds and removes authorities', () => {
    const bundle = new WitBundle(td());
    bundle.addWitAuthority('w', p256);
    assert.ok(bundle.hasWitAuthority('w'));
    assert.equal(bundle.removeWitAuthority('w'), true);
    assert.ok(bundle.isEmpty());
    bundle.setWitAuthorities([['v', ed]]);
    assert.ok(bundle.clone().equals(bundle));
  });
});
