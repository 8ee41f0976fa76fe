import { strict as assert } from 'node:assert';
import type { X509Certificate } from 'node:crypto';
import { BundleSet, SpiffeBundle, type JwtBundleSource, type X509BundleSource } from '../../../spiffe/bundle/index.js';
import { readShared } from '../../support/shared.js';
import { makeCa, makeKey, td } from '../../support/bundle-authorities.js';
import { rejects } from '../../support/bundle-errors.js';

const vector = (file: string): string =>
  readShared('conformance', 'bundle', 'spiffebundle', 'testdata', file).toString('utf8');

describe('bundle: BundleSet', () => {
  let caA: X509Certificate;
  const jwtB = makeKey('P-256');
  let a: SpiffeBundle;
  let b: SpiffeBundle;
  before(async () => {
    caA = await makeCa('P-256', 'a.test');
  });
  beforeEach(() => {
    a = new SpiffeBundle(td('a.test'), { x509Authorities: [caA], sequenceNumber: 1n });
    b = new SpiffeBundle(td('b.test'), { jwtAuthorities: [['kb', jwtB]], refreshHintSeconds: 60 });
  });

  it('adds, replaces, gets, lists (sorted by trust domain) and removes bundles', () => {
    const set = new BundleSet([b, a]);
    assert.equal(set.size, 2);
    assert.deepEqual(
      set.list().map((x) => x.trustDomain.name),
      ['a.test', 'b.test'],
    );
    assert.equal(set.get(td('a.test')), a);
    assert.ok(set.has(td('b.test')));
    assert.equal(set.get(td('c.test')), undefined);
    const newer = new SpiffeBundle(td('a.test'), { sequenceNumber: 2n, x509Authorities: [] });
    set.add(newer);
    assert.equal(set.size, 2);
    assert.equal(set.get(td('a.test')), newer);
    assert.equal(set.remove(td('a.test')), true);
    assert.equal(set.remove(td('a.test')), false);
    assert.deepEqual(
      set.list().map((x) => x.trustDomain.name),
      ['b.test'],
    );
  });

  it('serves X.509, JWT and WIT authorities of the asked trust domain only', () => {
    const set = new BundleSet([a, b]);
    const x509: X509BundleSource = set;
    const jwt: JwtBundleSource = set;
    assert.deepEqual(x509.getX509BundleForTrustDomain(td('a.test')).x509Authorities(), [caA]);
    assert.equal(x509.getX509BundleForTrustDomain(td('b.test')).x509Authorities().length, 0);
    assert.ok(jwt.getJwtBundleForTrustDomain(td('b.test')).findJwtAuthority('kb')?.equals(jwtB));
    assert.equal(jwt.getJwtBundleForTrustDomain(td('a.test')).findJwtAuthority('kb'), undefined);
    assert.equal(set.getWitBundleForTrustDomain(td('a.test')).findWitAuthority('kb'), undefined);
    assert.equal(set.getBundleForTrustDomain(td('b.test')), b);
  });

  it('reports a missing trust domain as NOT_FOUND with go-spiffe Set texts', () => {
    const set = new BundleSet([a]);
    const missing = td('c.test');
    const cases: [() => unknown, string][] = [
      [() => set.getBundleForTrustDomain(missing), 'spiffebundle: no SPIFFE bundle for trust domain "c.test"'],
      [() => set.getX509BundleForTrustDomain(missing), 'spiffebundle: no X.509 bundle for trust domain "c.test"'],
      [() => set.getJwtBundleForTrustDomain(missing), 'spiffebundle: no JWT bundle for trust domain "c.test"'],
      [() => set.getWitBundleForTrustDomain(missing), 'spiffebundle: no WIT bundle for trust domain "c.test"'],
    ];
    for (const [fn, message] of cases) {
      const err = rejects(fn, message);
      assert.equal(err.code, 'SIGIL_BUNDLE_NOT_FOUND');
      assert.equal(err.status, 5);
    }
  });

  it('parses a bundle map of go-spiffe bundles', () => {
    const map = `{"trust_domains":{"one.test":${vector('spiffebundle_valid_1.json')},"two.test":${vector('spiffebundle_valid_2.json')}}}`;
    const set = BundleSet.parseBundleMap(map);
    assert.deepEqual(
      set.list().map((x) => x.trustDomain.name),
      ['one.test', 'two.test'],
    );
    assert.equal(set.getBundleForTrustDomain(td('two.test')).jwtAuthorities().size, 6);
    assert.equal(set.getBundleForTrustDomain(td('two.test')).sequenceNumber, 1n);
    assert.ok(BundleSet.parseBundleMap('{"trust_domains":{}}').size === 0);
  });

  it('rejects a bundle map naming a trust domain twice', () => {
    const bundle = '{"keys":[]}';
    const map = `{"trust_domains":{"a.test":${bundle},"a.test":${bundle}}}`;
    const err = rejects(
      () => BundleSet.parseBundleMap(map),
      `spiffebundle: unable to parse bundle map: duplicate object key "a.test" in $.trust_domains at offset ${map.lastIndexOf('"a.test"')}`,
    );
    assert.equal(err.code, 'SIGIL_BUNDLE_INVALID');
  });

  it('rejects a bundle map without trust_domains, with bad names, or with a bad bundle', () => {
    const prefix = 'spiffebundle: unable to parse bundle map: ';
    rejects(() => BundleSet.parseBundleMap('{}'), `${prefix}"trust_domains" must be present and be a JSON object`);
    rejects(() => BundleSet.parseBundleMap('{"trust_domains":[]}'), `${prefix}"trust_domains" must be present and be a JSON object`);
    rejects(() => BundleSet.parseBundleMap('[]'), `${prefix}document must be a JSON object`);
    rejects(() => BundleSet.parseBundleMap(''), `${prefix}unexpected end of JSON input`);
    const charRule = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
    rejects(() => BundleSet.parseBundleMap('{"trust_domains":{"Upper.test":{"keys":[]}}}'), `${prefix}invalid trust domain "Upper.test": ${charRule}`);
    rejects(
      () => BundleSet.parseBundleMap('{"trust_domains":{"spiffe://a.test":{"keys":[]}}}'),
      `${prefix}invalid trust domain "spiffe://a.test": ${charRule}`,
    );
    rejects(() => BundleSet.parseBundleMap('{"trust_domains":{"":{"keys":[]}}}'), `${prefix}invalid trust domain "": trust domain is missing`);
    rejects(
      () => BundleSet.parseBundleMap('{"trust_domains":{"a.test":{"spiffe_sequence":1}}}'),
      'spiffebundle: bundle for trust domain "a.test": no authorities found',
    );
    rejects(
      () => BundleSet.parseBundleMap(`{"trust_domains":{"a.test":${vector('spiffebundle_multiple_x509.json')}}}`),
      'spiffebundle: bundle for trust domain "a.test": expected a single certificate in x509-svid entry 0; got 2',
    );
    assert.equal(
      BundleSet.parseBundleMap(`{"trust_domains":{"a.test":${vector('spiffebundle_multiple_x509.json')}}}`, { mode: 'spec' })
        .getBundleForTrustDomain(td('a.test'))
        .x509Authorities().length,
      1,
    );
  });

  it('marshals a bundle map sorted by trust domain, without refresh hints, that parses back', () => {
    const set = new BundleSet([b, a]);
    const text = set.marshalBundleMap();
    assert.ok(text.startsWith('{"trust_domains":{"a.test":{"keys":[{"use":"x509-svid"'));
    assert.ok(!text.includes('spiffe_refresh_hint'));
    assert.ok(text.includes('"spiffe_sequence":1'));
    const back = BundleSet.parseBundleMap(text);
    assert.ok(back.getBundleForTrustDomain(td('a.test')).equals(a));
    const bWithoutHint = b.clone();
    bWithoutHint.refreshHintSeconds = undefined;
    assert.ok(back.getBundleForTrustDomain(td('b.test')).equals(bWithoutHint));
    assert.equal(new BundleSet().marshalBundleMap(), '{"trust_domains":{}}');
  });
});
