/**
 * X509Svid.parse / parseRaw / marshal beyond go-spiffe's data files (key types, PEM block
 * handling, strict DER), and the DER reader they stand on.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { Status } from '../../../spiffe/errors.js';
import { decodeBitFlags, decodeOid, decodeTime, readTlv, Tag } from '../../../spiffe/internal/der.js';
import { encodePem } from '../../../spiffe/internal/pem.js';
import { X509Svid, X509SvidError } from '../../../spiffe/x509svid/index.js';
import { issue, KU, leafSpec, rootSpec, type Issued } from '../../support/x509-certs.js';

const pkcs8 = (i: Issued): Buffer => i.key.export({ type: 'pkcs8', format: 'der' });
const certPem = (...certs: Issued[]): string => certs.map((c) => encodePem('CERTIFICATE', c.der)).join('');
const keyPem = (i: Issued): string => encodePem('PRIVATE KEY', pkcs8(i));

function fails(run: () => unknown, message: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof X509SvidError, String(err));
    assert.equal(err.message, message);
    assert.equal(err.status, Status.INVALID_ARGUMENT);
    return true;
  });
}

describe('x509svid: parse and marshal', () => {
  const root = issue(rootSpec());
  const leaf = issue(leafSpec(), root);

  it('accepts Ed25519 and RSA leaves with their keys, and round-trips both encodings', () => {
    for (const keyType of ['ed25519', 'rsa'] as const) {
      const l = issue(leafSpec({ keyType }), root);
      const svid = X509Svid.parse(certPem(l, root), keyPem(l));
      assert.equal(svid.privateKey.asymmetricKeyType, keyType);
      const pem = svid.marshal();
      assert.equal(pem.certificates, certPem(l, root));
      assert.equal(pem.privateKey, keyPem(l));
      const raw = svid.marshalRaw();
      assert.deepEqual(raw.certificates, Buffer.concat([l.der, root.der]));
      assert.ok(X509Svid.parseRaw(raw.certificates, raw.privateKey).id.equals(svid.id));
    }
  });

  it('does not check dates', () => {
    const old = issue(leafSpec({ notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2001-01-01T00:00:00Z') }), root);
    assert.equal(X509Svid.parse(certPem(old), keyPem(old)).id.toString(), 'spiffe://example.org/workload');
  });

  it('refuses key types go-spiffe does not load', () => {
    const x25519 = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'der' });
    fails(() => X509Svid.parseRaw(leaf.der, x25519), 'x509svid: private key validation failed: unsupported private key type x25519');
    const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    fails(() => X509Svid.parseRaw(leaf.der, k1), 'x509svid: private key validation failed: unsupported private key type ec (secp256k1)');
  });

  it('skips blocks of other types: an EC PRIVATE KEY block is not a key, a CSR is not a certificate', () => {
    const sec1 = leaf.key.export({ type: 'sec1', format: 'pem' }) as string;
    fails(() => X509Svid.parse(certPem(leaf), sec1), 'x509svid: private key validation failed: no private key found');
    const withCsr = encodePem('CERTIFICATE REQUEST', Buffer.from([0x30, 0x00])) + certPem(leaf);
    assert.equal(X509Svid.parse(withCsr, keyPem(leaf)).certificates.length, 1);
  });

  it('uses the first PRIVATE KEY block', () => {
    const other = issue(leafSpec(), root);
    assert.ok(X509Svid.parse(certPem(leaf), keyPem(leaf) + keyPem(other)));
    fails(
      () => X509Svid.parse(certPem(leaf), keyPem(other) + keyPem(leaf)),
      'x509svid: private key validation failed: leaf certificate does not match private key',
    );
  });

  it('refuses trailing bytes after the DER key or certificates', () => {
    fails(
      () => X509Svid.parseRaw(leaf.der, Buffer.concat([pkcs8(leaf), Buffer.from([0])])),
      'x509svid: cannot parse DER encoded private key: invalid PKCS#8 private key: trailing data after PrivateKeyInfo',
    );
    fails(
      () => X509Svid.parseRaw(Buffer.concat([leaf.der, Buffer.from([0x30, 0x05, 0x00])]), pkcs8(leaf)),
      'x509svid: cannot parse DER encoded certificate: malformed certificate: truncated element',
    );
  });

  it('no certificates in the DER input', () => {
    fails(() => X509Svid.parseRaw(Buffer.alloc(0), pkcs8(leaf)), 'x509svid: certificate validation failed: no certificates found');
  });

  it('refuses a certificate with a duplicated extension, as Go does at parse time', () => {
    const dup = issue(leafSpec({ extra: [{ oid: '2.5.29.15', critical: true, value: Buffer.from([0x03, 0x02, 0x07, 0x80]) }] }), root);
    fails(
      () => X509Svid.parse(certPem(dup), keyPem(dup)),
      'x509svid: cannot parse PEM encoded certificate: malformed certificate: duplicate extension 2.5.29.15',
    );
  });

  it('checks every signing certificate after the leaf', () => {
    const ok = issue(rootSpec({ cn: 'intermediate' }), root);
    const bad = issue(rootSpec({ cn: 'upper', keyUsage: KU.cRLSign }));
    fails(
      () => X509Svid.parse(certPem(leaf, ok, bad), keyPem(leaf)),
      "x509svid: certificate validation failed: signing certificate must have 'keyCertSign' set as key usage",
    );
  });

  it('keeps a hint given to the constructor; refuses to marshal without certificates', () => {
    const svid = new X509Svid(X509Svid.parse(certPem(leaf), keyPem(leaf)).id, [], leaf.key, 'internal');
    assert.equal(svid.hint, 'internal');
    fails(() => svid.marshal(), 'x509svid: no certificates to marshal');
    fails(() => svid.marshalRaw(), 'x509svid: no certificates to marshal');
  });
});

describe('internal: DER reader', () => {
  const bytes = (...b: number[]): Buffer => Buffer.from(b);

  it('decodes OIDs, including a first arc of 2 with a large second arc', () => {
    assert.equal(decodeOid(bytes(0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b)), '1.2.840.113549.1.1.11');
    assert.equal(decodeOid(bytes(0x55, 0x1d, 0x25, 0x00)), '2.5.29.37.0');
    assert.equal(decodeOid(bytes(0x88, 0x37)), '2.999');
    assert.throws(() => decodeOid(bytes(0x55, 0x80, 0x01)), /non-minimal/);
    assert.throws(() => decodeOid(bytes(0x55, 0x81)), /truncated/);
  });

  it('refuses BER-only length forms and truncation', () => {
    assert.deepEqual(readTlv(bytes(0x30, 0x81, 0x80, ...new Array(0x80).fill(0))).contentStart, 3);
    assert.throws(() => readTlv(bytes(0x30, 0x80, 0x00, 0x00)), /indefinite/);
    assert.throws(() => readTlv(bytes(0x30, 0x81, 0x05, 1, 2, 3, 4, 5)), /non-minimal/);
    assert.throws(() => readTlv(bytes(0x30, 0x82, 0x00, 0x85)), /non-minimal/);
    assert.throws(() => readTlv(bytes(0x30, 0x03, 0x01)), /truncated/);
  });

  it('decodes times per RFC 5280 (UTCTime pivots at 1950) and refuses impossible dates', () => {
    const t = (tag: number, s: string): Date => decodeTime({ tag, start: 0, contentStart: 0, end: 0 }, Buffer.from(s));
    assert.equal(t(Tag.UTC_TIME, '491231235959Z').toISOString(), '2049-12-31T23:59:59.000Z');
    assert.equal(t(Tag.UTC_TIME, '500101000000Z').toISOString(), '1950-01-01T00:00:00.000Z');
    assert.equal(t(Tag.GENERALIZED_TIME, '20500101000000Z').toISOString(), '2050-01-01T00:00:00.000Z');
    assert.throws(() => t(Tag.GENERALIZED_TIME, '20230231000000Z'), /invalid time/);
    assert.throws(() => t(Tag.UTC_TIME, '2301010000Z'), /invalid time/);
  });

  it('reads BIT STRING flags with bit 0 as the most significant bit', () => {
    assert.equal(decodeBitFlags(bytes(0x07, 0x80)), KU.digitalSignature);
    assert.equal(decodeBitFlags(bytes(0x01, 0x06)), KU.keyCertSign | KU.cRLSign);
    assert.equal(decodeBitFlags(bytes(0x07, 0x00, 0x80)), 1 << 8);
  });
});

describe('x509svid: damaged input', () => {
  const root = issue(rootSpec());
  const leaf = issue(leafSpec(), root);
  const key = leaf.key.export({ type: 'pkcs8', format: 'der' });

  it('any single damaged byte gives an X509SvidError or a valid SVID, never another error', () => {
    fc.assert(
      fc.property(fc.nat({ max: leaf.der.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, value) => {
        const damaged = Buffer.from(leaf.der);
        damaged[at] = value;
        try {
          X509Svid.parseRaw(damaged, key);
        } catch (err) {
          assert.ok(err instanceof X509SvidError, `byte ${at} = ${value}: ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
