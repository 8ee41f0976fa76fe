import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { X509Bundle } from '../../../spiffe/bundle/index.js';
import { readShared } from '../../support/shared.js';
import { makeCa, td, type CaKind } from '../../support/bundle-authorities.js';
import { rejects } from '../../support/bundle-errors.js';

const testdata = (file: string): Buffer => readShared('conformance', 'bundle', 'x509bundle', 'testdata', file);

describe('bundle: X509Bundle', () => {
  const cas: Partial<Record<CaKind, X509Certificate>> = {};
  const ca = (k: CaKind): X509Certificate => cas[k] ?? assert.fail(`no ${k} CA`);
  before(async () => {
    for (const k of ['P-256', 'P-384', 'RSA'] as const) cas[k] = await makeCa(k);
  });

  it('round-trips through PEM and through concatenated DER, for EC P-256, P-384 and RSA CAs', () => {
    const bundle = new X509Bundle(td(), [ca('P-256'), ca('P-384'), ca('RSA')]);
    const fromPem = X509Bundle.parse(td(), bundle.marshal());
    const fromDer = X509Bundle.parseRaw(td(), bundle.marshalRaw());
    assert.ok(fromPem.equals(bundle));
    assert.ok(fromDer.equals(bundle));
    assert.deepEqual(
      fromPem.x509Authorities().map((c) => c.fingerprint256),
      [ca('P-256'), ca('P-384'), ca('RSA')].map((c) => c.fingerprint256),
    );
    assert.equal(bundle.marshal().match(/-----BEGIN CERTIFICATE-----/g)?.length, 3);
  });

  it('an empty bundle marshals to nothing and parses back empty, in both encodings', () => {
    const empty = new X509Bundle(td());
    assert.equal(empty.marshal(), '');
    assert.equal(empty.marshalRaw().length, 0);
    assert.ok(X509Bundle.parse(td(), '').isEmpty());
    assert.ok(X509Bundle.parseRaw(td(), Buffer.alloc(0)).isEmpty());
  });

  it('detects duplicates by DER bytes, whichever object carries them', () => {
    const bundle = new X509Bundle(td());
    assert.equal(bundle.addX509Authority(ca('P-256')), true);
    assert.equal(bundle.addX509Authority(ca('P-256')), false);
    assert.equal(bundle.addX509Authority(new X509Certificate(ca('P-256').raw)), false);
    assert.equal(bundle.x509Authorities().length, 1);
    const combined = Buffer.concat([testdata('certs.pem'), testdata('cert.pem')]);
    assert.equal(X509Bundle.parse(td(), combined).x509Authorities().length, 2);
    const twice = Buffer.concat([ca('RSA').raw, ca('RSA').raw]);
    assert.equal(X509Bundle.parseRaw(td(), twice).x509Authorities().length, 1);
  });

  it('has, removes and replaces authorities', () => {
    const bundle = new X509Bundle(td(), [ca('P-256'), ca('RSA')]);
    assert.ok(bundle.hasX509Authority(new X509Certificate(ca('RSA').raw)));
    assert.equal(bundle.removeX509Authority(ca('RSA')), true);
    assert.equal(bundle.removeX509Authority(ca('RSA')), false);
    assert.equal(bundle.hasX509Authority(ca('RSA')), false);
    bundle.setX509Authorities([ca('P-384'), ca('P-384')]);
    assert.deepEqual(bundle.x509Authorities(), [ca('P-384')]);
  });

  it('hands out copies of its authority list', () => {
    const bundle = new X509Bundle(td(), [ca('P-256')]);
    (bundle.x509Authorities() as X509Certificate[]).push(ca('RSA'));
    assert.equal(bundle.x509Authorities().length, 1);
    const clone = bundle.clone();
    clone.addX509Authority(ca('RSA'));
    assert.equal(bundle.x509Authorities().length, 1);
    assert.ok(!clone.equals(bundle));
  });

  it('equality needs the same trust domain and the same certificates in the same order', () => {
    const a = new X509Bundle(td(), [ca('P-256'), ca('RSA')]);
    assert.ok(a.equals(new X509Bundle(td(), [ca('P-256'), ca('RSA')])));
    assert.ok(!a.equals(new X509Bundle(td(), [ca('RSA'), ca('P-256')])));
    assert.ok(!a.equals(new X509Bundle(td('other.test'), [ca('P-256'), ca('RSA')])));
    assert.ok(!a.equals(new X509Bundle(td(), [ca('P-256')])));
  });

  it('skips PEM blocks that are not certificates', () => {
    const mixed = Buffer.concat([testdata('key.pem'), testdata('cert.pem'), testdata('key.pem')]);
    assert.equal(X509Bundle.parse(td(), mixed).x509Authorities().length, 1);
    assert.ok(X509Bundle.parse(td(), testdata('key.pem')).isEmpty());
  });

  it('tells "no PEM at all" from an empty input', () => {
    rejects(() => X509Bundle.parse(td(), 'Not PEM encoded file'), 'x509bundle: cannot parse certificate: no PEM blocks found');
    rejects(() => X509Bundle.parse(td(), '\n  \n'), 'x509bundle: cannot parse certificate: no PEM blocks found');
  });

  it('rejects broken DER, never loading a certificate the bytes do not exactly hold', () => {
    const der = ca('P-256').raw;
    const prefix = 'x509bundle: cannot parse certificate: malformed certificate: ';
    rejects(() => X509Bundle.parseRaw(td(), der.subarray(0, der.length - 1)), `${prefix}truncated`);
    rejects(() => X509Bundle.parseRaw(td(), Buffer.from('not-DER-encoded')), `${prefix}expected a SEQUENCE, found tag 0x6e`);
    rejects(() => X509Bundle.parseRaw(td(), Buffer.concat([der, Buffer.from([0x30])])), `${prefix}truncated`);
    rejects(() => X509Bundle.parseRaw(td(), Buffer.from([0x30, 0x80, 0, 0])), `${prefix}indefinite length`);
    rejects(() => X509Bundle.parseRaw(td(), Buffer.from([0x30, 0x81, 0x03, 2, 1, 1])), `${prefix}non-minimal length encoding`);
    rejects(() => X509Bundle.parseRaw(td(), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), new RegExp(`^${prefix}.+`));
    const pemWithTrailer = `-----BEGIN CERTIFICATE-----\n${Buffer.concat([der, Buffer.from([0])]).toString('base64')}\n-----END CERTIFICATE-----\n`;
    rejects(() => X509Bundle.parse(td(), pemWithTrailer), `${prefix}trailing data after certificate`);
    const err = rejects(() => X509Bundle.parse(td(), testdata('corrupted.pem')), /^x509bundle: cannot parse certificate: /);
    assert.equal(err.code, 'SIGIL_BUNDLE_INVALID');
    assert.equal(err.status, 3);
  });

  it('is an X509BundleSource for its own trust domain only', () => {
    const bundle = new X509Bundle(td(), [ca('P-256')]);
    assert.equal(bundle.getX509BundleForTrustDomain(td()), bundle);
    const err = rejects(
      () => bundle.getX509BundleForTrustDomain(td('other.test')),
      'x509bundle: no X.509 bundle found for trust domain: "other.test"',
    );
    assert.equal(err.code, 'SIGIL_BUNDLE_NOT_FOUND');
    assert.equal(err.status, 5);
    assert.equal(err.module, 'x509bundle');
    assert.equal(err.detail, 'no X.509 bundle found for trust domain: "other.test"');
  });
});
