/**
 * verifyX509Svid / parseAndVerifyX509Svid against certificates made at run time: go-spiffe's
 * Verify cases (reference §6.1) with its texts, then the spec checks sigil adds and the RFC 5280
 * path rules (pathLen, validity of every certificate, anchors). Name constraints have their own
 * file, x509svid-name-constraints.test.ts.
 */
import assert from 'node:assert/strict';
import type { X509BundleSource } from '../../../spiffe/bundle/source.js';
import { SigilError } from '../../../spiffe/errors.js';
import {
  MAX_SIGNATURE_CHECKS,
  parseAndVerifyX509Svid,
  verifyX509Svid,
  X509SvidError,
} from '../../../spiffe/x509svid/index.js';
import { Bundles, EKU, issue, KU, leafSpec, rootSpec, type Issued } from '../../support/x509-certs.js';

const P = 'x509svid: ';
const VERIFY = `${P}could not verify leaf certificate: `;
const UNKNOWN = 'certificate signed by unknown authority';
const hinted = (reason: string, candidate: string): string =>
  `${VERIFY}${UNKNOWN} (possibly because of ${JSON.stringify(reason)} while trying to verify candidate authority certificate ${JSON.stringify(candidate)})`;

function fails(run: () => unknown, message: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof X509SvidError, String(err));
    assert.equal(err.message, message);
    assert.equal(err.code, 'SIGIL_X509SVID_INVALID');
    return true;
  });
}

describe('x509svid: verify', () => {
  const root = issue(rootSpec());
  const inter = issue(rootSpec({ cn: 'intermediate' }), root);
  const leaf = issue(leafSpec(), inter);
  const bundles = new Bundles({ 'example.org': [root] });
  const verify = (certs: Issued[], source: X509BundleSource = bundles, time?: Date): ReturnType<typeof verifyX509Svid> =>
    verifyX509Svid(certs.map((c) => c.cert), source, time === undefined ? {} : { time });

  describe('go-spiffe cases, go-spiffe texts', () => {
    it('succeeds through an intermediate and returns the ID and the chain', () => {
      const { id, chains } = verify([leaf, inter]);
      assert.equal(id.toString(), 'spiffe://example.org/workload');
      assert.deepEqual(chains, [[leaf.cert, inter.cert, root.cert]]);
    });

    it('succeeds for a leaf signed by the root directly', () => {
      const direct = issue(leafSpec(), root);
      assert.deepEqual(verify([direct]).chains, [[direct.cert, root.cert]]);
    });

    it('empty chain', () => fails(() => verify([]), `${P}empty certificates chain`));

    it('no bundle source (a JavaScript caller)', () => {
      const missing = undefined as unknown as X509BundleSource;
      fails(() => verifyX509Svid([leaf.cert, inter.cert], missing), `${P}bundleSource is required`);
    });

    it('no roots in the bundle', () => {
      fails(() => verify([leaf, inter], new Bundles({ 'example.org': [] })), `${VERIFY}${UNKNOWN}`);
    });

    it('bundle only for another trust domain: the source error is passed through, kept as cause', () => {
      const other = new Bundles({ 'domain1.test': [root] });
      fails(() => verify([leaf, inter], other), `${P}could not get X509 bundle: x509bundle: no X.509 bundle found for trust domain: "example.org"`);
      assert.throws(() => verify([leaf, inter], other), (err: Error) => err.cause instanceof SigilError);
    });

    it('leaf URI with scheme sparfe', () => {
      const bad = issue(leafSpec({ uris: ['sparfe://example.org/workload'] }), root);
      fails(() => verify([bad]), `${P}could not get leaf SPIFFE ID: scheme is missing or invalid`);
    });

    it('wrong roots (another CA)', () => {
      const otherRoot = issue(rootSpec({ cn: 'other-root' }));
      fails(() => verify([leaf, inter], new Bundles({ 'example.org': [otherRoot] })), `${VERIFY}${UNKNOWN}`);
    });

    it('wrong roots with the right name but another key (Go names the candidate)', () => {
      const impostor = issue(rootSpec());
      fails(() => verify([leaf, inter], new Bundles({ 'example.org': [impostor] })), hinted('certificate signature is invalid', 'root'));
    });

    it('leaf without URI SAN', () => {
      const bad = issue(leafSpec({ uris: [], dns: ['example.org'] }), root);
      fails(() => verify([bad]), `${P}could not get leaf SPIFFE ID: certificate contains no URI SAN`);
    });

    it('leaf with two URI SANs', () => {
      const bad = issue(leafSpec({ uris: ['spiffe://example.org/a', 'spiffe://example.org/b'] }), root);
      fails(() => verify([bad]), `${P}could not get leaf SPIFFE ID: certificate contains more than one URI SAN`);
    });

    it('leaf with CA=true', () => {
      fails(() => verify([issue(leafSpec({ ca: true }), root)]), `${P}leaf certificate with CA flag set to true`);
    });

    it('leaf with keyCertSign (checked before digitalSignature, as go-spiffe has no such check)', () => {
      fails(() => verify([issue(leafSpec({ keyUsage: KU.keyCertSign }), root)]), `${P}leaf certificate with KeyCertSign key usage`);
    });

    it('leaf with cRLSign', () => {
      const bad = issue(leafSpec({ keyUsage: KU.digitalSignature | KU.cRLSign }), root);
      fails(() => verify([bad]), `${P}leaf certificate with KeyCrlSign key usage`);
    });

    it('expired at the given time', () => {
      const notAfter = new Date('2029-06-01T12:00:00Z');
      const old = issue(leafSpec({ notBefore: new Date('2020-01-01T00:00:00Z'), notAfter }), root);
      const at = new Date('2030-01-01T00:00:00Z');
      fails(
        () => verify([old], bundles, at),
        `${VERIFY}certificate has expired or is not yet valid: current time 2030-01-01T00:00:00Z is after 2029-06-01T12:00:00Z`,
      );
    });

    it('not yet valid at the given time', () => {
      const notBefore = new Date('2024-05-06T07:08:09Z');
      const young = issue(leafSpec({ notBefore, notAfter: new Date(Date.now() + 3600_000) }), root);
      fails(
        () => verify([young], bundles, new Date('2001-02-03T04:05:06Z')),
        `${VERIFY}certificate has expired or is not yet valid: current time 2001-02-03T04:05:06Z is before 2024-05-06T07:08:09Z`,
      );
    });

    it('parseAndVerify: corrupted DER', () => {
      const corrupt = Buffer.from(leaf.der);
      corrupt[0] = 0x00;
      fails(
        () => parseAndVerifyX509Svid([corrupt, inter.der], bundles),
        `${P}unable to parse certificate: malformed certificate: expected Certificate (tag 0x30), got tag 0x00`,
      );
    });

    it('parseAndVerify: good DER', () => {
      assert.equal(parseAndVerifyX509Svid([leaf.der, inter.der], bundles).id.toString(), 'spiffe://example.org/workload');
    });
  });

  describe('spec checks go-spiffe leaves out', () => {
    it('X-2: leaf with a root path', () => {
      const bad = issue(leafSpec({ uris: ['spiffe://example.org'] }), root);
      fails(() => verify([bad]), `${P}leaf certificate SPIFFE ID must have a non-root path`);
    });

    it('X-6: leaf without digitalSignature, or without keyUsage at all', () => {
      const msg = `${P}leaf certificate must have 'digitalSignature' set as key usage`;
      fails(() => verify([issue(leafSpec({ keyUsage: KU.keyEncipherment }), root)]), msg);
      fails(() => verify([issue(leafSpec({ keyUsage: undefined }), root)]), msg);
    });

    it('X-9: EKU present without clientAuth (or serverAuth); absent EKU is fine', () => {
      const msg = `${P}leaf certificate extended key usage must include both 'serverAuth' and 'clientAuth'`;
      fails(() => verify([issue(leafSpec({ extKeyUsage: [EKU.serverAuth] }), root)]), msg);
      fails(() => verify([issue(leafSpec({ extKeyUsage: [EKU.clientAuth] }), root)]), msg);
      assert.ok(verify([issue(leafSpec({ extKeyUsage: undefined }), root)]));
    });

    it('X-10: intermediate that is not a CA', () => {
      const notCa = issue(rootSpec({ cn: 'intermediate', ca: false }), root);
      fails(() => verify([issue(leafSpec(), notCa), notCa]), `${P}signing certificate must have CA flag set to true`);
    });

    it('X-11: intermediate without keyCertSign', () => {
      const noSign = issue(rootSpec({ cn: 'intermediate', keyUsage: KU.cRLSign }), root);
      fails(() => verify([issue(leafSpec(), noSign), noSign]), `${P}signing certificate must have 'keyCertSign' set as key usage`);
    });
  });

  describe('path validation', () => {
    it('pathLen exceeded, and just respected', () => {
      const root0 = issue(rootSpec({ pathLen: 0 }));
      const i0 = issue(rootSpec({ cn: 'intermediate' }), root0);
      const l0 = issue(leafSpec(), i0);
      fails(() => verify([l0, i0], new Bundles({ 'example.org': [root0] })), hinted('too many intermediates for path length constraint', 'root'));
      const root1 = issue(rootSpec({ pathLen: 1 }));
      const i1 = issue(rootSpec({ cn: 'intermediate' }), root1);
      assert.ok(verify([issue(leafSpec(), i1), i1], new Bundles({ 'example.org': [root1] })));
    });

    it('an expired intermediate is named as the likely cause', () => {
      const expired = { notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2021-01-01T00:00:00Z') };
      const old = issue(rootSpec({ cn: 'old-intermediate', ...expired }), root);
      const at = new Date(Math.floor(Date.now() / 1000) * 1000);
      const reason = `certificate has expired or is not yet valid: current time ${rfc3339(at)} is after 2021-01-01T00:00:00Z`;
      fails(() => verify([issue(leafSpec(), old), old], bundles, at), hinted(reason, 'old-intermediate'));
    });

    it('an authority may be an intermediate CA placed in the bundle: the chain ends there', () => {
      const { chains } = verify([leaf, inter], new Bundles({ 'example.org': [inter] }));
      assert.deepEqual(chains, [[leaf.cert, inter.cert]]);
    });

    it('a leaf that is itself in the bundle verifies as a one-certificate chain (as Go)', () => {
      const pinned = issue(leafSpec());
      assert.deepEqual(verify([pinned], new Bundles({ 'example.org': [pinned] })).chains, [[pinned.cert]]);
    });

    it('intermediates in any order, with an unrelated one, and every chain is returned', () => {
      const unrelated = issue(rootSpec({ cn: 'unrelated' }));
      const reissued = issue(rootSpec({ key: root.key, notAfter: new Date(Date.now() + 7200_000) }));
      const lower = issue(rootSpec({ cn: 'lower' }), inter);
      const l = issue(leafSpec(), lower);
      const { chains } = verify([l, unrelated, inter, lower], new Bundles({ 'example.org': [root, reissued] }));
      assert.deepEqual(chains, [
        [l.cert, lower.cert, inter.cert, root.cert],
        [l.cert, lower.cert, inter.cert, reissued.cert],
      ]);
    });

    it('authorities are trust anchors: a v1-style one without basicConstraints is accepted', () => {
      const v1 = issue(rootSpec({ ca: undefined, keyUsage: undefined }));
      assert.ok(verify([issue(leafSpec(), v1)], new Bundles({ 'example.org': [v1] })));
    });

    it('an authority that says CA=false, or lacks keyCertSign, cannot anchor', () => {
      const notCa = issue(rootSpec({ ca: false }));
      fails(
        () => verify([issue(leafSpec(), notCa)], new Bundles({ 'example.org': [notCa] })),
        hinted('certificate is not authorized to sign other certificates: it is not a CA', 'root'),
      );
      const noSign = issue(rootSpec({ keyUsage: KU.digitalSignature }));
      fails(
        () => verify([issue(leafSpec(), noSign)], new Bundles({ 'example.org': [noSign] })),
        hinted('certificate is not authorized to sign other certificates: key usage lacks keyCertSign', 'root'),
      );
    });

    it('an unknown critical extension on the leaf is refused', () => {
      const odd = issue(leafSpec({ extra: [{ oid: '1.2.3.4', critical: true, value: Buffer.from([0x05, 0x00]) }] }), root);
      fails(() => verify([odd]), `${VERIFY}unhandled critical extension 1.2.3.4`);
      const fine = issue(leafSpec({ extra: [{ oid: '1.2.3.4', critical: false, value: Buffer.from([0x05, 0x00]) }] }), root);
      assert.ok(verify([fine]));
    });

    it(`gives up after ${MAX_SIGNATURE_CHECKS} signature checks`, () => {
      const decoys = Array.from({ length: MAX_SIGNATURE_CHECKS + 1 }, () => issue(rootSpec({ cn: 'intermediate' })));
      fails(
        () => verify([leaf, ...decoys], new Bundles({ 'example.org': [] })),
        `${VERIFY}signature check attempts limit reached while verifying certificate chain`,
      );
    });
  });
});

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
