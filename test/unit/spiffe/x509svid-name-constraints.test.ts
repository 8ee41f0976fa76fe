/**
 * Name constraints on the CAs of an X509-SVID chain (RFC 5280 4.2.1.10), applied to the leaf's
 * SANs the way Go's verifier applies them, with RFC host semantics for URI constraints.
 */
import assert from 'node:assert/strict';
import { verifyX509Svid, X509SvidError } from '../../../spiffe/x509svid/index.js';
import { Bundles, issue, leafSpec, rootSpec, type CertSpec } from '../../support/x509-certs.js';

const hinted = (reason: string, candidate: string): string =>
  `x509svid: could not verify leaf certificate: certificate signed by unknown authority (possibly because of ${JSON.stringify(reason)} while trying to verify candidate authority certificate ${JSON.stringify(candidate)})`;

function fails(run: () => unknown, message: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof X509SvidError, String(err));
    assert.equal(err.message, message);
    return true;
  });
}

describe('x509svid: verify with name constraints', () => {
  const constrained = (nc: CertSpec['nameConstraints'], leafOver: Partial<CertSpec> = {}): (() => unknown) => {
    const ca = issue(rootSpec({ nameConstraints: nc }));
    const l = issue(leafSpec(leafOver), ca);
    const anchors = new Bundles({ 'example.org': [ca], 'other.org': [ca], 'prod.example.org': [ca] });
    return (): unknown => verifyX509Svid([l.cert], anchors);
  };
  const NOT_AUTH = 'a root or intermediate certificate is not authorized to sign for this name: ';

  it('URI permitted: satisfied by the exact host', () => {
    assert.ok(constrained({ permitted: [{ uri: 'example.org' }] })());
  });

  it('URI permitted: violated by another trust domain', () => {
    fails(
      constrained({ permitted: [{ uri: 'example.org' }] }, { uris: ['spiffe://other.org/w'] }),
      hinted(`${NOT_AUTH}URI "spiffe://other.org/w" is not permitted by any constraint`, 'root'),
    );
  });

  it('URI permitted ".example.org": subdomains only (RFC 5280), not the host itself', () => {
    fails(
      constrained({ permitted: [{ uri: '.example.org' }] }),
      hinted(`${NOT_AUTH}URI "spiffe://example.org/workload" is not permitted by any constraint`, 'root'),
    );
    assert.ok(constrained({ permitted: [{ uri: '.example.org' }] }, { uris: ['spiffe://prod.example.org/w'] })());
  });

  it('URI excluded', () => {
    fails(
      constrained({ excluded: [{ uri: 'example.org' }] }),
      hinted(`${NOT_AUTH}URI "spiffe://example.org/workload" is excluded by constraint "example.org"`, 'root'),
    );
  });

  it('DNS constraints apply to DNS SANs (name and subdomains)', () => {
    assert.ok(constrained({ permitted: [{ dns: 'example.com' }] }, { dns: ['api.example.com'] })());
    fails(
      constrained({ permitted: [{ dns: 'example.com' }] }, { dns: ['api.example.net'] }),
      hinted(`${NOT_AUTH}DNS name "api.example.net" is not permitted by any constraint`, 'root'),
    );
  });

  it('constraints of one form leave names of other forms alone', () => {
    assert.ok(constrained({ permitted: [{ dns: 'example.com' }] })());
  });

  it('IP constraints (address and mask)', () => {
    const net10 = { ip: [10, 0, 0, 0, 255, 0, 0, 0] };
    assert.ok(constrained({ permitted: [net10] }, { ips: [[10, 1, 2, 3]] })());
    fails(
      constrained({ excluded: [net10] }, { ips: [[10, 1, 2, 3]] }),
      hinted(`${NOT_AUTH}IP address "10.1.2.3" is excluded by constraint "10.0.0.0/255.0.0.0"`, 'root'),
    );
  });

  it('a critical constraint of a form not processed (directoryName) is refused', () => {
    fails(
      constrained({ permitted: [{ dirName: 'corp' }] }),
      hinted('unhandled critical extension: name constraints of an unsupported name form', 'root'),
    );
    assert.ok(constrained({ permitted: [{ dirName: 'corp' }], critical: false })());
  });

  it('constraints on an intermediate apply as well as on the authority', () => {
    const root = issue(rootSpec());
    const inter = issue(rootSpec({ cn: 'intermediate', nameConstraints: { permitted: [{ uri: 'example.org' }] } }), root);
    const stray = issue(leafSpec({ uris: ['spiffe://other.org/w'] }), inter);
    fails(
      () => verifyX509Svid([stray.cert, inter.cert], new Bundles({ 'other.org': [root] })),
      hinted(`${NOT_AUTH}URI "spiffe://other.org/w" is not permitted by any constraint`, 'intermediate'),
    );
    const good = issue(leafSpec(), inter);
    assert.ok(verifyX509Svid([good.cert, inter.cert], new Bundles({ 'example.org': [root] })));
  });

  it('DNS excluded subtree covers subdomains', () => {
    fails(
      constrained({ excluded: [{ dns: 'internal.example.com' }] }, { dns: ['db.internal.example.com'] }),
      hinted(`${NOT_AUTH}DNS name "db.internal.example.com" is excluded by constraint "internal.example.com"`, 'root'),
    );
  });
});
