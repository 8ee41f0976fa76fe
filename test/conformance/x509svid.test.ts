/**
 * go-spiffe's x509svid.Parse / ParseRaw data files (shared/conformance/svid/x509svid/testdata),
 * one test per MANIFEST vector, named by its files. Where go-spiffe's expected text ends in Go
 * library text (ASN.1 or x509 parser messages), only the go-spiffe-owned prefix is asserted and
 * the test name says so. The root-path case is generated, as go-spiffe generates it.
 */
import assert from 'node:assert/strict';
import { decodePem, encodePem } from '../../spiffe/internal/pem.js';
import { X509Svid, X509SvidError } from '../../spiffe/x509svid/index.js';
import { readShared, readSharedJson } from '../support/shared.js';
import { issue, leafSpec } from '../support/x509-certs.js';

interface PemVector {
  certs: string;
  key: string;
  valid: boolean;
  expected_id?: string;
  expected_cert_count?: number;
  error?: string;
  match?: 'contains';
}

interface RawVector {
  certs_der_from?: string;
  certs_raw_bytes?: string;
  key_der_from?: string;
  key_raw_bytes?: string;
  valid: boolean;
  expected_id?: string;
  error?: string;
  match?: 'contains';
}

interface Manifest {
  x509svid_parse_pem: PemVector[];
  x509svid_parse_raw_der: RawVector[];
}

const manifest = readSharedJson<Manifest>('conformance', 'MANIFEST.json');
const data = (path: string): Buffer => readShared('conformance', path);
const base = (path: string): string => path.split('/').pop() ?? path;

/** The expected texts that end in Go's parser messages, and the prefix go-spiffe owns in each. */
const GO_LIBRARY_SUFFIX: [string, string][] = [
  ['x509: malformed certificate', 'x509svid: cannot parse PEM encoded certificate: '],
  ['asn1: structure error:', 'x509svid: cannot parse PEM encoded private key: '],
];

function goOwnedPrefix(expected: string): string | undefined {
  return GO_LIBRARY_SUFFIX.find(([goText]) => expected.endsWith(goText))?.[1];
}

function derOf(path: string, type: string): Buffer {
  return Buffer.concat(decodePem(data(path)).filter((b) => b.type === type).map((b) => b.bytes));
}

function expectError(run: () => unknown, expected: string): void {
  const prefix = goOwnedPrefix(expected);
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof X509SvidError, String(err));
    assert.equal(err.code, 'SIGIL_X509SVID_INVALID');
    if (prefix === undefined) assert.ok(err.message.includes(expected), `${err.message} lacks ${expected}`);
    else assert.ok(err.message.startsWith(prefix) && err.message.length > prefix.length, err.message);
    return true;
  });
}

let ran = 0;

describe('conformance: x509svid (go-spiffe testdata)', () => {
  describe('Parse (PEM)', () => {
    for (const v of manifest.x509svid_parse_pem) {
      const name = `${base(v.certs)} + ${base(v.key)}`;
      const suffix = v.valid ? `valid, ${v.expected_cert_count} cert(s)` : v.error!;
      const prefixOnly = !v.valid && goOwnedPrefix(v.error!) !== undefined ? ' [asserts go-spiffe prefix only]' : '';
      it(`${name} → ${suffix}${prefixOnly}`, () => {
        ran++;
        const run = (): X509Svid => X509Svid.parse(data(v.certs), data(v.key));
        if (!v.valid) return expectError(run, v.error!);
        const svid = run();
        assert.equal(svid.id.toString(), v.expected_id);
        assert.equal(svid.certificates.length, v.expected_cert_count);
        // What parse accepted must come back out unchanged and parse again.
        const out = svid.marshal();
        const again = X509Svid.parse(out.certificates, out.privateKey);
        assert.equal(again.id.toString(), v.expected_id);
        assert.deepEqual(again.certificates.map((c) => c.raw), svid.certificates.map((c) => c.raw));
      });
    }
  });

  describe('ParseRaw (DER)', () => {
    for (const v of manifest.x509svid_parse_raw_der) {
      const certs = v.certs_der_from !== undefined ? base(v.certs_der_from) : JSON.stringify(v.certs_raw_bytes);
      const key = v.key_der_from !== undefined ? base(v.key_der_from) : JSON.stringify(v.key_raw_bytes);
      it(`${certs} + ${key} → ${v.valid ? 'valid' : v.error}`, () => {
        ran++;
        const certsDer =
          v.certs_der_from !== undefined ? derOf(v.certs_der_from, 'CERTIFICATE') : Buffer.from(v.certs_raw_bytes!);
        const keyDer = v.key_der_from !== undefined ? derOf(v.key_der_from, 'PRIVATE KEY') : Buffer.from(v.key_raw_bytes!);
        const run = (): X509Svid => X509Svid.parseRaw(certsDer, keyDer);
        if (!v.valid) return expectError(run, v.error!);
        const svid = run();
        assert.equal(svid.id.toString(), v.expected_id);
        const raw = svid.marshalRaw();
        assert.deepEqual(raw.certificates, certsDer);
        assert.ok(X509Svid.parseRaw(raw.certificates, raw.privateKey).id.equals(svid.id));
      });
    }
  });

  describe('generated (go-spiffe builds these at run time)', () => {
    const rootPathError = 'x509svid: certificate validation failed: leaf certificate SPIFFE ID must have a non-root path';
    const root = issue(leafSpec({ uris: ['spiffe://example.org'] }));
    const keyDer = root.key.export({ type: 'pkcs8', format: 'der' });

    it(`Parse: leaf URI spiffe://example.org → ${rootPathError}`, () => {
      const run = (): X509Svid => X509Svid.parse(encodePem('CERTIFICATE', root.der), encodePem('PRIVATE KEY', keyDer));
      assert.throws(run, { name: 'X509SvidError', message: rootPathError });
    });

    it(`ParseRaw: leaf URI spiffe://example.org → ${rootPathError}`, () => {
      assert.throws(() => X509Svid.parseRaw(root.der, keyDer), { name: 'X509SvidError', message: rootPathError });
    });
  });

  // Mocha runs a suite's own tests before its child suites, so this sits in the last child suite.
  describe('completeness', () => {
    it('ran every MANIFEST vector (none silently skipped)', () => {
      const expected = manifest.x509svid_parse_pem.length + manifest.x509svid_parse_raw_der.length;
      assert.ok(expected > 0);
      assert.equal(ran, expected);
    });
  });
});
