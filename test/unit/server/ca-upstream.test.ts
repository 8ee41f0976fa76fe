/**
 * A ServerCa under an upstream CA on disk (a corporate PKI made with openssl): its CA is an
 * intermediate, SVID chains carry it, and the bundle publishes the upstream root.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { verifyX509Svid, X509Svid } from '../../../spiffe/x509svid/index.js';
import { openssl, opensslVerify, startTestCa, workloadKey } from '../../fakes/ca-harness.js';

const WORKLOAD = SpiffeId.fromString('spiffe://example.org/ns/prod/sa/web');
const CA_EXT = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];

function cert(path: string): X509Certificate {
  return new X509Certificate(readFileSync(path));
}

describe('ServerCa: upstream CA on disk', function () {
  this.timeout(60_000);
  let dir: string;
  let files: { certFile: string; keyFile: string; bundleFile: string };
  let root: X509Certificate;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-ca-upstream-'));
    openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'root.key', '-out', 'root.pem',
      '-days', '3650', '-subj', '/O=Corp/CN=Corp Root', ...CA_EXT);
    // A corporate issuing CA under the root, as many PKIs hand out.
    openssl(dir, 'req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', 'corp.key',
      '-out', 'corp.csr', '-subj', '/O=Corp/CN=Corp Issuing CA');
    writeFileSync(join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
    openssl(dir, 'x509', '-req', '-in', 'corp.csr', '-CA', 'root.pem', '-CAkey', 'root.key', '-CAcreateserial',
      '-days', '365', '-extfile', 'ca.ext', '-out', 'corp.pem');
    // A root that expires in a day, and a leaf (non-CA) certificate.
    openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'short.key',
      '-out', 'short.pem', '-days', '1', '-subj', '/CN=Short Root', ...CA_EXT);
    openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key',
      '-out', 'leafcert.pem', '-days', '30', '-subj', '/CN=not a ca', '-addext', 'basicConstraints=critical,CA:FALSE');
    root = cert(join(dir, 'root.pem'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(() => {
    files = { certFile: join(dir, 'root.pem'), keyFile: join(dir, 'root.key'), bundleFile: join(dir, 'root.pem') };
  });

  it('issues SVIDs chained [leaf, intermediate] that verify against the upstream root', async () => {
    const { ca } = await startTestCa({ upstream: files });
    const bundle = await ca.bundle();
    assert.deepEqual(bundle.x509Authorities().map((c) => c.fingerprint256), [root.fingerprint256]);
    const { publicKey, privateKey } = workloadKey();
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey });
    assert.equal(svid.certificates.length, 2);
    const [leaf, intermediate] = svid.certificates as [X509Certificate, X509Certificate];
    assert.ok(intermediate.ca && intermediate.checkIssued(root) && intermediate.verify(root.publicKey));
    assert.equal(intermediate.subjectAltName, 'URI:spiffe://example.org');
    assert.ok(leaf.checkIssued(intermediate));
    assert.deepEqual(svid.certificatesDer, [leaf.raw, intermediate.raw]);

    const r = opensslVerify(dir, { roots: [root], intermediates: [intermediate], leaf });
    assert.equal(r.status, 0, r.output);
    assert.equal(verifyX509Svid(svid.certificates, bundle).chains[0]!.length, 3);
    const parsed = X509Svid.parseRaw(
      Buffer.concat(svid.certificates.map((c) => c.raw)),
      privateKey.export({ type: 'pkcs8', format: 'der' }),
    );
    assert.equal(parsed.certificates.length, 2);
    const status = ca.status();
    assert.ok(status.ready && status.x509.upstream);
  });

  it("carries the upstream's own intermediates in the chain: [leaf, intermediate, corporate CA]", async () => {
    const corp = cert(join(dir, 'corp.pem'));
    const { ca } = await startTestCa({ upstream: { ...files, certFile: join(dir, 'corp.pem'), keyFile: join(dir, 'corp.key') } });
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    assert.equal(svid.certificates.length, 3);
    assert.ok(svid.certificates[2]!.raw.equals(corp.raw));
    const r = opensslVerify(dir, { roots: [root], intermediates: svid.certificates.slice(1), leaf: svid.certificates[0]! });
    assert.equal(r.status, 0, r.output);
    verifyX509Svid(svid.certificates, await ca.bundle());
  });

  it("caps the intermediate at the upstream certificate's notAfter", async () => {
    const short = cert(join(dir, 'short.pem'));
    const { ca } = await startTestCa({
      upstream: { certFile: join(dir, 'short.pem'), keyFile: join(dir, 'short.key'), bundleFile: join(dir, 'short.pem') },
      caTtlSeconds: 7 * 24 * 3600,
    });
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    assert.equal(svid.certificates[1]!.validTo, short.validTo);
  });

  const failures: [string, () => Partial<typeof files>, (d: string) => RegExp][] = [
    ['a missing certificate file', () => ({ certFile: join(dir, 'nope.pem') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): cannot read certificate file ${d}/nope\\.pem: ENOENT`)],
    ['a missing key file', () => ({ keyFile: join(dir, 'nope.key') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): cannot read key file ${d}/nope\\.key: ENOENT`)],
    ['a missing bundle file', () => ({ bundleFile: join(dir, 'nope-bundle.pem') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): cannot read bundle file ${d}/nope-bundle\\.pem: ENOENT`)],
    ['a directory as the certificate file', () => ({ certFile: dir }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): cannot read certificate file ${d}: EISDIR`)],
    ['a key file without a key', () => ({ keyFile: join(dir, 'root.pem') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): key file ${d}/root\\.pem holds no readable private key`)],
    ['a certificate file without certificates', () => ({ certFile: join(dir, 'root.key') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): certificate file ${d}/root\\.key holds no CERTIFICATE block$`)],
    ['a key that is not the certificate\'s', () => ({ keyFile: join(dir, 'corp.key') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): key file ${d}/corp\\.key is not the key of the first certificate in ${d}/root\\.pem$`)],
    ['a certificate that is not a CA', () => ({ certFile: join(dir, 'leafcert.pem'), keyFile: join(dir, 'leaf.key'), bundleFile: join(dir, 'leafcert.pem') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): the certificate in ${d}/leafcert\\.pem is not a CA`)],
    ['a bundle that does not hold the root', () => ({ bundleFile: join(dir, 'short.pem') }),
      (d) => new RegExp(`^ca: upstream\\(disk\\): the chain in ${d}/root\\.pem does not lead to a root in ${d}/short\\.pem$`)],
  ];
  for (const [name, change, message] of failures) {
    it(`refuses to start with ${name}, naming the file`, async () => {
      await assert.rejects(startTestCa({ upstream: { ...files, ...change() } }), (err: unknown) => {
        assert.ok(err instanceof CaError, String(err));
        assert.equal(err.code, CaErrorCode.upstream);
        assert.match(err.message, message(dir));
        return true;
      });
    });
  }

  it('refuses to start with an unreadable key file, naming it', async function () {
    if (process.getuid?.() === 0) this.skip(); // root reads any file
    const locked = join(dir, 'locked.key');
    writeFileSync(locked, readFileSync(join(dir, 'root.key')));
    chmodSync(locked, 0);
    await assert.rejects(startTestCa({ upstream: { ...files, keyFile: locked } }), /cannot read key file .*locked\.key: EACCES/);
  });

  it('refuses an incomplete upstream config', async () => {
    await assert.rejects(startTestCa({ upstream: { ...files, bundleFile: '' } }), (err: unknown) => {
      assert.ok(err instanceof CaError);
      assert.equal(err.code, CaErrorCode.config);
      assert.equal(err.message, "ca: upstream.bundleFile is required: set it to the upstream CA's PEM file");
      return true;
    });
  });
});
