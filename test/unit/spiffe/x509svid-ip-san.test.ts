/**
 * IP SANs in the leaf profile: what openssl prints for them, and that Node's TLS client accepts a
 * server reached by IP only when the leaf names that IP.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:tls';
import { certInfo } from '../../../spiffe/internal/x509.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import {
  caTemplate, issueCertificate, leafTemplate, softwareSigner, validityWindow, X509ProfileError, type LeafTemplateOptions,
} from '../../../spiffe/x509svid/index.js';

const TD = TrustDomain.fromString('example.org');
const ID = SpiffeId.fromString('spiffe://example.org/sigil/server');

const ecPair = (): { publicKey: KeyObject; privateKey: KeyObject } => generateKeyPairSync('ec', { namedCurve: 'P-256' });

/** `openssl x509 -text` of `cert`, fed on stdin. */
function opensslText(cert: X509Certificate): string {
  const r = spawnSync('openssl', ['x509', '-noout', '-text'], { input: cert.toString(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/** Connects to a TLS server on `host` serving `leaf`, trusting `ca`; resolves with the client's verdict. */
async function handshake(host: string, ca: X509Certificate, leaf: X509Certificate, key: KeyObject): Promise<Error | 'ok'> {
  const server = createServer({ key: key.export({ type: 'pkcs8', format: 'pem' }), cert: leaf.toString() }, (s) => s.end());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return await new Promise<Error | 'ok'>((resolve) => {
      const socket = connect({ host, port, ca: ca.toString() }, () => {
        socket.end();
        resolve('ok');
      });
      socket.on('error', resolve);
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('x509svid profile: IP SANs', () => {
  const caPair = ecPair();
  const leafPair = ecPair();
  let ca: X509Certificate;
  const options = (extra: Partial<LeafTemplateOptions>): LeafTemplateOptions => ({
    id: ID, publicKey: leafPair.publicKey, issuer: ca, ...validityWindow(new Date(), 3600), ...extra,
  });
  const issueLeaf = (extra: Partial<LeafTemplateOptions>): Promise<X509Certificate> =>
    issueCertificate(leafTemplate(options(extra)), softwareSigner(caPair.privateKey));

  before(async () => {
    const window = validityWindow(new Date(), 24 * 3600);
    ca = await issueCertificate(caTemplate({ trustDomain: TD, publicKey: caPair.publicKey, ...window }), softwareSigner(caPair.privateKey));
  });

  it('adds iPAddress SANs of 4 and 16 octets after the URI and DNS SANs', async () => {
    const leaf = await issueLeaf({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] });
    const text = opensslText(leaf);
    assert.match(
      text,
      /X509v3 Subject Alternative Name: \n\s*URI:spiffe:\/\/example\.org\/sigil\/server, DNS:localhost, IP Address:127\.0\.0\.1, IP Address:0:0:0:0:0:0:0:1\n/,
    );
    assert.deepEqual(
      certInfo(leaf).subjectAltNames.filter((n) => n.kind === 'ip').map((n) => Buffer.from(n.value as Uint8Array).toString('hex')),
      ['7f000001', '00000000000000000000000000000001'],
    );
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');
    assert.equal(leaf.checkIP('127.0.0.2'), undefined);
    // The CN stays the first DNS name; an IP is never copied there.
    assert.equal(leaf.subject, 'C=US\nO=SIGIL\nCN=localhost');
  });

  it('keeps the SAN critical with an empty subject and IP SANs only (X-3)', async () => {
    const leaf = await issueLeaf({ subject: {}, ipAddresses: ['10.0.0.1'] });
    assert.match(opensslText(leaf), /X509v3 Subject Alternative Name: critical\n\s*URI:spiffe:\/\/example\.org\/sigil\/server, IP Address:10\.0\.0\.1\n/);
  });

  it('refuses what is not an IP literal, zones included', () => {
    for (const bad of ['localhost', '', '1.2.3', '01.2.3.4', '::1%lo', '[::1]', '1.2.3.4/32', '::1::']) {
      assert.throws(
        () => leafTemplate(options({ ipAddresses: [bad] })),
        (e: unknown) => e instanceof X509ProfileError && e.message === `x509svid: invalid IP address "${bad}"`,
        bad,
      );
    }
  });

  it("is accepted by Node's TLS client dialling 127.0.0.1, and refused without the IP SAN", async () => {
    const withIp = await issueLeaf({ ipAddresses: ['127.0.0.1'] });
    assert.equal(await handshake('127.0.0.1', ca, withIp, leafPair.privateKey), 'ok');
    const dnsOnly = await issueLeaf({ dnsNames: ['localhost'] });
    const refused = await handshake('127.0.0.1', ca, dnsOnly, leafPair.privateKey);
    assert.ok(refused instanceof Error);
    assert.equal((refused as NodeJS.ErrnoException).code, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it("is accepted by Node's TLS client dialling ::1", async function () {
    const leaf = await issueLeaf({ ipAddresses: ['::1'] });
    let verdict: Error | 'ok';
    try {
      verdict = await handshake('::1', ca, leaf, leafPair.privateKey);
    } catch (err) {
      // A host without IPv6 loopback cannot run this; the IPv4 test covers the TLS path.
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') this.skip();
      throw err;
    }
    assert.equal(verdict, 'ok');
  });
});
