/**
 * go-spiffe's bundle test data, run through sigil's parsers: one test per MANIFEST vector in the
 * x509bundle, jwtbundle, spiffebundle and (experimental) witbundle sections, then a check that every
 * vector of the section was run, so a vector added to the MANIFEST cannot be silently skipped.
 */
import { strict as assert } from 'node:assert';
import { basename } from 'node:path';
import { JwtBundle, SpiffeBundle, WitBundle, X509Bundle } from '../../spiffe/bundle/index.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { caughtBundleError } from '../support/bundle-errors.js';
import { readShared, readSharedJson } from '../support/shared.js';

interface Vector {
  file?: string;
  raw_bytes?: string;
  trust_domain?: string;
  valid: boolean;
  error?: string;
  match?: 'equal' | 'contains';
  expected_authorities?: number;
  expected_x509_authorities?: number;
  expected_jwt_authorities?: number;
  expected_wit_authorities?: number;
  expected_refresh_hint_seconds?: number | null;
  expected_sequence_number?: number | null;
  kids?: string[];
}

const manifest = readSharedJson<Record<string, Vector[]>>('conformance', 'MANIFEST.json');

function input(v: Vector): Buffer {
  if (v.file !== undefined) return readShared('conformance', ...v.file.split('/'));
  return Buffer.from(v.raw_bytes ?? '', 'utf8');
}

function trustDomain(v: Vector): TrustDomain {
  return TrustDomain.fromString(v.trust_domain ?? 'example.org');
}

function name(v: Vector): string {
  return v.file !== undefined ? basename(v.file) : `raw bytes ${JSON.stringify(v.raw_bytes ?? '')}`;
}

function assertRejected(v: Vector, parse: () => unknown): void {
  assert.equal(v.valid, false);
  const caught = caughtBundleError(parse);
  assert.equal(caught.code, 'SIGIL_BUNDLE_INVALID');
  const expected = v.error ?? '';
  if (v.match === 'equal') assert.equal(caught.message, expected);
  else assert.ok(caught.message.includes(expected), `${JSON.stringify(caught.message)} should contain ${JSON.stringify(expected)}`);
}

/** Declares one test per vector of `section`, and a last test that counts them. */
function section(key: string, check: (v: Vector) => void): void {
  const vectors = manifest[key] ?? [];
  describe(`conformance: ${key}`, () => {
    let run = 0;
    for (const v of vectors) {
      it(name(v), () => {
        run++;
        check(v);
      });
    }
    it('ran every vector of the MANIFEST section', () => {
      assert.ok(vectors.length > 0, `MANIFEST has no ${key} section`);
      assert.equal(run, vectors.length);
    });
  });
}

section('x509bundle_parse_pem', (v) => {
  if (!v.valid) return assertRejected(v, () => X509Bundle.parse(trustDomain(v), input(v)));
  const bundle = X509Bundle.parse(trustDomain(v), input(v));
  assert.equal(bundle.x509Authorities().length, v.expected_authorities);
  assert.ok(X509Bundle.parse(bundle.trustDomain, bundle.marshal()).equals(bundle));
  assert.ok(X509Bundle.parseRaw(bundle.trustDomain, bundle.marshalRaw()).equals(bundle));
});

section('jwtbundle_parse', (v) => {
  if (!v.valid) return assertRejected(v, () => JwtBundle.parse(trustDomain(v), input(v)));
  const bundle = JwtBundle.parse(trustDomain(v), input(v));
  assert.equal(bundle.jwtAuthorities().size, v.expected_jwt_authorities);
  assert.deepEqual([...bundle.jwtAuthorities().keys()], [...(v.kids ?? [])].sort());
  for (const kid of v.kids ?? []) assert.ok(bundle.findJwtAuthority(kid) !== undefined, kid);
  assert.ok(JwtBundle.parse(bundle.trustDomain, bundle.marshal()).equals(bundle));
});

section('spiffebundle_parse', (v) => {
  if (!v.valid) return assertRejected(v, () => SpiffeBundle.parse(trustDomain(v), input(v)));
  const bundle = SpiffeBundle.parse(trustDomain(v), input(v));
  assert.equal(bundle.x509Authorities().length, v.expected_x509_authorities);
  assert.equal(bundle.jwtAuthorities().size, v.expected_jwt_authorities);
  assert.equal(bundle.witAuthorities().size, v.expected_wit_authorities);
  assert.equal(bundle.refreshHintSeconds, v.expected_refresh_hint_seconds ?? undefined);
  const seq = v.expected_sequence_number;
  assert.equal(bundle.sequenceNumber, seq === null || seq === undefined ? undefined : BigInt(seq));
  assert.ok(SpiffeBundle.parse(bundle.trustDomain, bundle.marshal()).equals(bundle));
});

section('witbundle_parse_experimental', (v) => {
  if (!v.valid) return assertRejected(v, () => WitBundle.parse(trustDomain(v), input(v)));
  const bundle = WitBundle.parse(trustDomain(v), input(v));
  assert.equal(bundle.witAuthorities().size, v.expected_wit_authorities);
  assert.ok(WitBundle.parse(bundle.trustDomain, bundle.marshal()).equals(bundle));
});
