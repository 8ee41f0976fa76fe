import { strict as assert } from 'node:assert';
import { createHash, type KeyObject, type X509Certificate } from 'node:crypto';
import { JwtBundle, SpiffeBundle, WitBundle, X509Bundle } from '../../../spiffe/bundle/index.js';
import { makeCa, makeKey, td, withX25519Key, type CaKind } from '../../support/bundle-authorities.js';
import { rejects } from '../../support/bundle-errors.js';

type Jwk = Record<string, unknown>;
const keyJwk = (key: KeyObject, extra: Jwk = {}): Jwk => ({ ...key.export({ format: 'jwk' }), ...extra });
const x509Jwk = (cert: X509Certificate, extra: Jwk = {}): Jwk =>
  keyJwk(cert.publicKey, { use: 'x509-svid', x5c: [cert.raw.toString('base64')], ...extra });
const doc = (keys: Jwk[] | undefined, extra: Jwk = {}): string => JSON.stringify({ keys, ...extra });
const parse = (json: string, mode?: 'go-spiffe' | 'spec'): SpiffeBundle => SpiffeBundle.parse(td(), json, { mode });

describe('bundle: SpiffeBundle', () => {
  const cas: Partial<Record<CaKind, X509Certificate>> = {};
  const ca = (k: CaKind): X509Certificate => cas[k] ?? assert.fail(`no ${k} CA`);
  const jwtP256 = makeKey('P-256');
  const jwtRsa = makeKey('RSA');
  const jwtEd = makeKey('Ed25519');
  const witP384 = makeKey('P-384');
  before(async () => {
    for (const k of ['P-256', 'P-384', 'RSA', 'Ed25519'] as const) cas[k] = await makeCa(k);
  });

  const full = (): SpiffeBundle =>
    new SpiffeBundle(td(), {
      x509Authorities: [ca('P-256'), ca('P-384'), ca('RSA')],
      jwtAuthorities: [
        ['jwt-ec', jwtP256],
        ['jwt-rsa', jwtRsa],
        ['jwt-ed', jwtEd],
      ],
      witAuthorities: [['wit-1', witP384]],
      refreshHintSeconds: 300,
      sequenceNumber: 42n,
    });

  it('round-trips X.509 (P-256, P-384, RSA), JWT and WIT authorities with hint and sequence', () => {
    const bundle = full();
    const back = parse(bundle.marshal());
    assert.ok(back.equals(bundle));
    assert.equal(back.refreshHintSeconds, 300);
    assert.equal(back.sequenceNumber, 42n);
    assert.equal(back.x509Authorities().length, 3);
    assert.ok(back.findJwtAuthority('jwt-ed')?.equals(jwtEd));
    assert.ok(back.findWitAuthority('wit-1')?.equals(witP384));
    assert.equal(parse(bundle.marshal({ indent: 2 })).marshal(), bundle.marshal());
  });

  it('keeps spiffe_sequence exact above 2^53 (2^63+5), up to 2^64-1', () => {
    const seq = 2n ** 63n + 5n;
    const bundle = new SpiffeBundle(td(), { jwtAuthorities: [['k', jwtP256]], sequenceNumber: seq });
    assert.match(bundle.marshal(), /"spiffe_sequence":9223372036854775813[,}]/);
    assert.equal(parse(bundle.marshal()).sequenceNumber, seq);
    assert.equal(parse('{"keys":[],"spiffe_sequence":18446744073709551615}').sequenceNumber, 2n ** 64n - 1n);
    assert.equal(parse('{"keys":[],"spiffe_sequence":0}').sequenceNumber, 0n);
  });

  it('rejects sequence numbers and refresh hints that are not in range integers', () => {
    const seqMsg = 'spiffebundle: unable to parse JWKS: "spiffe_sequence" must be an integer from 0 to 18446744073709551615';
    for (const bad of ['18446744073709551616', '-1', '1.5', '"1"', 'true', '1e300']) {
      rejects(() => parse(`{"keys":[],"spiffe_sequence":${bad}}`), seqMsg);
    }
    const hintMsg = 'spiffebundle: unable to parse JWKS: "spiffe_refresh_hint" must be a non-negative integer number of seconds';
    for (const bad of ['-1', '0.5', '"60"', '9007199254740992']) {
      rejects(() => parse(`{"keys":[],"spiffe_refresh_hint":${bad}}`), hintMsg);
    }
    const nulls = parse('{"keys":[],"spiffe_refresh_hint":null,"spiffe_sequence":null}');
    assert.equal(nulls.refreshHintSeconds, undefined);
    assert.equal(nulls.sequenceNumber, undefined);
    const bundle = new SpiffeBundle(td());
    rejects(() => (bundle.sequenceNumber = 2n ** 64n), 'spiffebundle: sequence number must be an integer from 0 to 18446744073709551615');
    rejects(() => (bundle.refreshHintSeconds = -5), 'spiffebundle: refresh hint must be a non-negative integer number of seconds');
  });

  it('marshals x509-svid JWKs with x5c and key members but no kid, and jwt/wit JWKs with kid', () => {
    const parsed = JSON.parse(full().marshal()) as { keys: Jwk[]; spiffe_sequence: number; spiffe_refresh_hint: number };
    const x509 = parsed.keys[0];
    assert.deepEqual(Object.keys(x509 ?? {}), ['use', 'kty', 'crv', 'x', 'y', 'x5c']);
    assert.deepEqual(x509?.['x5c'], [ca('P-256').raw.toString('base64')]);
    assert.deepEqual(
      parsed.keys.map((k) => [k['use'], k['kid']]),
      [
        ['x509-svid', undefined],
        ['x509-svid', undefined],
        ['x509-svid', undefined],
        ['jwt-svid', 'jwt-ec'],
        ['jwt-svid', 'jwt-ed'],
        ['jwt-svid', 'jwt-rsa'],
        ['wit-svid', 'wit-1'],
      ],
    );
    assert.deepEqual(Object.keys(parsed.keys[4] ?? {}), ['use', 'kty', 'kid', 'crv', 'x']);
    assert.deepEqual(Object.keys(parsed.keys[5] ?? {}), ['use', 'kty', 'kid', 'n', 'e']);
    assert.equal(parsed.spiffe_sequence, 42);
    assert.equal(parsed.spiffe_refresh_hint, 300);
  });

  it('marshals deterministically, and an empty bundle as "keys": [] that parses back', () => {
    const a = new SpiffeBundle(td(), { jwtAuthorities: [['b', jwtRsa], ['a', jwtP256]] });
    const b = new SpiffeBundle(td(), { jwtAuthorities: [['a', jwtP256], ['b', jwtRsa]] });
    assert.equal(a.marshal(), b.marshal());
    const empty = new SpiffeBundle(td());
    assert.equal(empty.marshal(), '{"keys":[]}');
    assert.ok(parse(empty.marshal()).equals(empty));
    assert.ok(parse(empty.marshal()).isEmpty());
  });

  it('needs a keys member (absent or null: no authorities found), but keys may be empty', () => {
    rejects(() => parse('{}'), 'spiffebundle: no authorities found');
    rejects(() => parse('{"keys":null,"spiffe_sequence":3}'), 'spiffebundle: no authorities found');
    rejects(() => parse('null'), 'spiffebundle: no authorities found');
    assert.ok(parse('{"keys":[]}').isEmpty());
  });

  it('rejects duplicate members anywhere in the document', () => {
    rejects(() => parse('{"keys":[],"keys":[]}'), 'spiffebundle: unable to parse JWKS: duplicate object key "keys" in $ at offset 11');
    const dupKid = `{"keys":[${JSON.stringify(keyJwk(jwtP256, { use: 'jwt-svid' })).slice(0, -1)},"kid":"a","kid":"b"}]}`;
    rejects(() => parse(dupKid), /^spiffebundle: unable to parse JWKS: duplicate object key "kid" in \$\.keys\[0\] at offset \d+$/);
  });

  it('rejects a JWK whose key members differ from its x5c certificate, in both modes', () => {
    const mismatch = doc([{ ...x509Jwk(ca('P-256')), ...keyJwk(jwtP256) }]);
    const msg = 'spiffebundle: unable to parse JWKS: key 0: public keys in key and x5c fields do not match';
    rejects(() => parse(mismatch), msg);
    rejects(() => parse(mismatch, 'spec'), msg);
    const otherType = doc([x509Jwk(ca('RSA'), keyJwk(ca('P-384').publicKey))]);
    rejects(() => parse(otherType), msg);
  });

  it('checks x5t thumbprints when present', () => {
    const cert = ca('P-256');
    const sha256 = createHash('sha256').update(cert.raw).digest('base64url');
    assert.equal(parse(doc([x509Jwk(cert, { 'x5t#S256': sha256 })])).x509Authorities().length, 1);
    const wrong = createHash('sha1').update('nope').digest('base64url');
    rejects(() => parse(doc([x509Jwk(cert, { x5t: wrong })])), 'spiffebundle: unable to parse JWKS: key 0: "x5t" does not match the certificate in "x5c"');
  });

  it('ignores entries of unknown or missing use', () => {
    const bundle = parse(doc([keyJwk(jwtP256, { use: 'enc', kid: 'e' }), keyJwk(jwtRsa, { kid: 'n' }), x509Jwk(ca('RSA'))]));
    assert.equal(bundle.jwtAuthorities().size, 0);
    assert.equal(bundle.x509Authorities().length, 1);
  });

  it('go-spiffe mode (default) fails on unknown kty and x5c counts other than 1; spec mode skips or uses x5c[0]', () => {
    const oct = { kty: 'oct', k: 'AAAA', use: 'jwt-svid', kid: 'h' };
    const withOct = doc([oct, x509Jwk(ca('P-256'))]);
    rejects(() => parse(withOct), 'spiffebundle: unable to parse JWKS: key 0: unsupported key type "oct"');
    assert.equal(parse(withOct, 'spec').x509Authorities().length, 1);
    const unknownUseAndKty = doc([{ kty: 'XYZ', use: 'something-else' }]);
    rejects(() => parse(unknownUseAndKty), 'spiffebundle: unable to parse JWKS: key 0: unsupported key type "XYZ"');
    assert.ok(parse(unknownUseAndKty, 'spec').isEmpty());

    const two = doc([x509Jwk(ca('P-256'), { x5c: [ca('P-256').raw.toString('base64'), ca('RSA').raw.toString('base64')] })]);
    rejects(() => parse(two), 'spiffebundle: expected a single certificate in x509-svid entry 0; got 2');
    assert.deepEqual(parse(two, 'spec').x509Authorities(), [ca('P-256')]);
    const none = doc([keyJwk(jwtP256, { use: 'jwt-svid', kid: 'j' }), keyJwk(ca('P-256').publicKey, { use: 'x509-svid' })]);
    rejects(() => parse(none), 'spiffebundle: expected a single certificate in x509-svid entry 1; got 0');
    assert.equal(parse(none, 'spec').x509Authorities().length, 0);
    const broken = doc([{ ...keyJwk(jwtP256, { use: 'jwt-svid', kid: 'j' }), x: 'AAAA' }]);
    rejects(() => parse(broken, 'spec'), 'spiffebundle: unable to parse JWKS: key 0: invalid EC key: "x" must be 32 bytes, got 3');
  });

  it('requires kid on jwt-svid and wit-svid entries, naming which', () => {
    rejects(() => parse(doc([keyJwk(jwtP256, { use: 'jwt-svid' })])), 'spiffebundle: error adding authority 0 of JWKS: keyID cannot be empty');
    rejects(
      () => parse(doc([x509Jwk(ca('RSA')), keyJwk(witP384, { use: 'wit-svid', kid: '' })])),
      'spiffebundle: error adding WIT authority 1 of JWKS: keyID cannot be empty',
    );
  });

  it('allows a kid in both the JWT and WIT sets only for the same key', () => {
    const same = parse(doc([keyJwk(jwtP256, { use: 'jwt-svid', kid: 'k' }), keyJwk(jwtP256, { use: 'wit-svid', kid: 'k' })]));
    assert.equal(same.jwtAuthorities().size, 1);
    assert.equal(same.witAuthorities().size, 1);
    rejects(
      () => parse(doc([keyJwk(jwtP256, { use: 'jwt-svid', kid: 'k' }), keyJwk(witP384, { use: 'wit-svid', kid: 'k' })])),
      'spiffebundle: error adding WIT authority 1 of JWKS: keyID "k" is used by two different keys',
    );
    const bundle = new SpiffeBundle(td(), { jwtAuthorities: [['k', jwtP256]] });
    rejects(() => bundle.addWitAuthority('k', witP384), 'spiffebundle: keyID "k" is already used by a different key');
    rejects(() => bundle.setWitAuthorities([['k', witP384]]), 'spiffebundle: keyID "k" is already used by a different key');
    assert.equal(bundle.witAuthorities().size, 0);
  });

  it('converts to and from X.509, JWT and WIT bundles', () => {
    const bundle = full();
    assert.ok(bundle.x509Bundle().equals(new X509Bundle(td(), [ca('P-256'), ca('P-384'), ca('RSA')])));
    assert.deepEqual([...bundle.jwtBundle().jwtAuthorities().keys()], ['jwt-ec', 'jwt-ed', 'jwt-rsa']);
    assert.deepEqual([...bundle.witBundle().witAuthorities().keys()], ['wit-1']);
    const fromX509 = SpiffeBundle.fromX509Bundle(bundle.x509Bundle());
    assert.equal(fromX509.x509Authorities().length, 3);
    assert.equal(fromX509.jwtAuthorities().size, 0);
    const fromJwt = SpiffeBundle.fromJwtBundle(new JwtBundle(td(), [['a', jwtRsa]]));
    assert.ok(fromJwt.findJwtAuthority('a')?.equals(jwtRsa));
    assert.equal(fromJwt.x509Authorities().length, 0);
    assert.ok(SpiffeBundle.fromWitBundle(new WitBundle(td(), [['w', jwtEd]])).hasWitAuthority('w'));
  });

  it('equality covers authorities, refresh hint and sequence number; clones are independent', () => {
    const a = full();
    const b = a.clone();
    assert.ok(a.equals(b));
    b.sequenceNumber = 43n;
    assert.ok(!a.equals(b));
    b.sequenceNumber = 42n;
    b.refreshHintSeconds = undefined;
    assert.ok(!a.equals(b));
    b.refreshHintSeconds = 300;
    assert.ok(a.equals(b));
    b.removeJwtAuthority('jwt-ed');
    assert.ok(!a.equals(b));
    assert.ok(a.hasJwtAuthority('jwt-ed'));
    const c = a.clone();
    c.removeX509Authority(ca('RSA'));
    assert.ok(!a.equals(c));
    assert.ok(!a.equals(new SpiffeBundle(td('other.test'), { x509Authorities: a.x509Authorities() })));
  });

  it('takes Ed25519 CAs, and refuses CAs whose key no JWK can carry (X509Bundle does not care)', () => {
    const bundle = new SpiffeBundle(td(), { x509Authorities: [ca('Ed25519')] });
    assert.ok(parse(bundle.marshal()).equals(bundle));
    const x25519 = withX25519Key(ca('Ed25519'));
    assert.equal(x25519.publicKey.asymmetricKeyType, 'x25519');
    const message = `spiffebundle: X.509 authority ${JSON.stringify(x25519.subject)}: unsupported key type "x25519"`;
    rejects(() => bundle.addX509Authority(x25519), message);
    rejects(() => SpiffeBundle.fromX509Bundle(new X509Bundle(td(), [x25519])), message);
    rejects(() => bundle.setX509Authorities([ca('RSA'), x25519]), message);
    assert.deepEqual(bundle.x509Authorities(), [ca('Ed25519')]);
  });

  it('manages authorities: X.509 duplicates dropped, JWT keys replaced by kid', () => {
    const bundle = new SpiffeBundle(td());
    assert.equal(bundle.addX509Authority(ca('P-256')), true);
    assert.equal(bundle.addX509Authority(ca('P-256')), false);
    assert.ok(bundle.hasX509Authority(ca('P-256')));
    bundle.addJwtAuthority('k', jwtP256);
    bundle.addJwtAuthority('k', jwtRsa);
    assert.ok(bundle.findJwtAuthority('k')?.equals(jwtRsa));
    rejects(() => bundle.addJwtAuthority('', jwtRsa), 'spiffebundle: keyID cannot be empty');
    assert.equal(bundle.removeX509Authority(ca('P-256')), true);
    assert.equal(bundle.removeJwtAuthority('k'), true);
    assert.ok(bundle.isEmpty());
  });

  it('is a source for its own trust domain only, with go-spiffe not-found texts', () => {
    const bundle = full();
    assert.equal(bundle.getX509BundleForTrustDomain(td()).x509Authorities().length, 3);
    assert.ok(bundle.getJwtBundleForTrustDomain(td()).findJwtAuthority('jwt-rsa')?.equals(jwtRsa));
    assert.ok(bundle.getWitBundleForTrustDomain(td()).findWitAuthority('wit-1')?.equals(witP384));
    assert.equal(bundle.getBundleForTrustDomain(td()), bundle);
    const other = td('other.test');
    const cases: [() => unknown, string][] = [
      [() => bundle.getBundleForTrustDomain(other), 'SPIFFE'],
      [() => bundle.getX509BundleForTrustDomain(other), 'X.509'],
      [() => bundle.getJwtBundleForTrustDomain(other), 'JWT'],
      [() => bundle.getWitBundleForTrustDomain(other), 'WIT'],
    ];
    for (const [fn, kind] of cases) {
      const err = rejects(fn, `spiffebundle: no ${kind} bundle for trust domain "other.test"`);
      assert.equal(err.code, 'SIGIL_BUNDLE_NOT_FOUND');
      assert.equal(err.status, 5);
    }
  });
});
