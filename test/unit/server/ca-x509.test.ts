/**
 * X.509-SVID issuance by a self-signed ServerCa: every SVID parses and verifies with spiffe/
 * against the published bundle and with `openssl verify`, for each CA key type.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { KEY_TYPES } from '../../../server/keymanager/key-manager.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { BACKDATE_SECONDS } from '../../../spiffe/x509svid/profile.js';
import { verifyX509Svid, X509ProfileError, X509Svid } from '../../../spiffe/x509svid/index.js';
import { opensslVerify, spki, startTestCa, workloadKey } from '../../fakes/ca-harness.js';

const WORKLOAD = SpiffeId.fromString('spiffe://example.org/ns/prod/sa/web');
const T0 = new Date('2030-01-01T00:00:00Z');
const clock = (start: Date) => {
  let now = start;
  return { now: () => now, set: (d: Date) => (now = d) };
};

function rejectsCa(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  return assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CaError, `expected CaError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

describe('ServerCa: X.509-SVIDs', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-ca-x509-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const keyType of KEY_TYPES) {
    it(`issues SVIDs that spiffe/ and openssl verify against the bundle (${keyType} CA key)`, async () => {
      const { ca } = await startTestCa({ keyType });
      const bundle = await ca.bundle();
      assert.equal(bundle.x509Authorities().length, 1);
      const root = bundle.x509Authorities()[0]!;
      for (const workloadType of KEY_TYPES) {
        const { publicKey, privateKey } = workloadKey(workloadType);
        const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: spki(publicKey) });
        assert.equal(svid.certificates.length, 1, 'a self-signed CA adds nothing after the leaf');
        const parsed = X509Svid.parseRaw(
          Buffer.concat(svid.certificates.map((c) => c.raw)),
          privateKey.export({ type: 'pkcs8', format: 'der' }),
        );
        assert.equal(parsed.id.toString(), WORKLOAD.toString());
        const verified = verifyX509Svid(svid.certificates, bundle);
        assert.equal(verified.id.toString(), WORKLOAD.toString());
        assert.ok(verified.chains[0]![1]!.raw.equals(root.raw));
        const r = opensslVerify(dir, { roots: [root], leaf: svid.certificates[0]! });
        assert.equal(r.status, 0, r.output);
        assert.match(r.output, /leaf\.pem: OK/);
      }
    });
  }

  it('uses a self-signed P-256 CA of 24 h for the trust domain by default', async () => {
    const c = clock(T0);
    const { ca } = await startTestCa({ now: c.now });
    const [root] = (await ca.bundle()).x509Authorities();
    assert.ok(root !== undefined && root.ca);
    assert.equal(root.subject, root.issuer);
    assert.equal(root.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.equal(root.subjectAltName, 'URI:spiffe://example.org');
    assert.equal(new Date(root.validFrom).getTime(), T0.getTime() - BACKDATE_SECONDS * 1000);
    assert.equal(new Date(root.validTo).getTime(), T0.getTime() + 24 * 3600 * 1000);
    const status = ca.status();
    assert.ok(status.ready);
    assert.equal(status.x509.upstream, false);
    assert.match(status.x509.keyLocation, /^memory:x509-CA-A$/);
  });

  it('issues for 1 h by default, backdated 10 s, and honours a requested TTL', async () => {
    const c = clock(T0);
    const { ca } = await startTestCa({ now: c.now });
    const publicKey = workloadKey().publicKey;
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey });
    const leaf = svid.certificates[0]!;
    assert.equal(new Date(leaf.validFrom).getTime(), T0.getTime() - 10_000);
    assert.equal(new Date(leaf.validTo).getTime(), T0.getTime() + 3600_000);
    assert.equal(svid.expiresAt.getTime(), T0.getTime() + 3600_000);
    assert.equal(svid.serialNumber, leaf.serialNumber);
    assert.deepEqual(svid.certificatesDer, svid.certificates.map((c) => c.raw));
    const short = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey, ttlSeconds: 600 });
    assert.equal(short.expiresAt.getTime(), T0.getTime() + 600_000);
    const zero = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey, ttlSeconds: 0 });
    assert.equal(zero.expiresAt.getTime(), T0.getTime() + 3600_000, 'TTL 0 means the default, as entries store it');
  });

  it("caps an SVID at the CA's notAfter", async () => {
    const c = clock(T0);
    const { ca } = await startTestCa({ now: c.now, caTtlSeconds: 6 * 3600 });
    const caNotAfter = T0.getTime() + 6 * 3600_000;
    c.set(new Date(caNotAfter - 1800_000));
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    assert.equal(svid.expiresAt.getTime(), caNotAfter);
    const bundle = await ca.bundle();
    verifyX509Svid(svid.certificates, bundle, { time: new Date(caNotAfter - 1000) });
    c.set(new Date(caNotAfter));
    await rejectsCa(
      ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey }),
      CaErrorCode.unavailable,
      /^ca: X\.509 CA [0-9a-f]{40} expired at 2030-01-01T06:00:00\.000Z: no X\.509-SVID can be signed until a new CA is active$/,
    );
    const status = ca.status();
    assert.ok(!status.ready);
    assert.match(status.reason, /expired/);
  });

  it('gives 1,000 SVIDs 1,000 distinct serials of at most 128 bits, signed concurrently', async () => {
    const { ca } = await startTestCa();
    const publicKey = spki(workloadKey().publicKey);
    const results = await ca.issueX509Svids(Array.from({ length: 1000 }, () => ({ spiffeId: WORKLOAD, publicKey })));
    const serials = results.map((r) => {
      assert.ok(r.svid !== undefined, r.error?.message);
      assert.equal(r.svid.serialNumber, r.svid.certificates[0]!.serialNumber);
      return r.svid.serialNumber;
    });
    assert.equal(new Set(serials).size, 1000);
    for (const s of serials) assert.ok(BigInt(`0x${s}`) > 0n && BigInt(`0x${s}`) < 2n ** 128n, s);
    const bundle = await ca.bundle();
    for (const r of results.slice(0, 50)) verifyX509Svid(r.svid!.certificates, bundle);
  });

  it('fails only the bad requests of a batch, in place', async () => {
    const { ca } = await startTestCa();
    const publicKey = workloadKey().publicKey;
    const results = await ca.issueX509Svids([
      { spiffeId: WORKLOAD, publicKey },
      { spiffeId: SpiffeId.fromString('spiffe://other.org/web'), publicKey },
      { spiffeId: WORKLOAD, publicKey: Buffer.from('not a key') },
      { spiffeId: WORKLOAD, publicKey, dnsNames: ['bad name'] },
      { spiffeId: WORKLOAD, publicKey, ttlSeconds: -5 },
    ]);
    assert.ok(results[0]!.svid !== undefined);
    assert.match(results[1]!.error?.message ?? '', /^ca: SPIFFE ID "spiffe:\/\/other\.org\/web" is not in trust domain "example\.org"/);
    assert.match(results[2]!.error?.message ?? '', /public key is not valid SPKI DER/);
    assert.match(results[3]!.error?.message ?? '', /invalid DNS name "bad name"/);
    assert.match(results[4]!.error?.message ?? '', /^ca: X\.509-SVID TTL must be a whole number of seconds above 0, got -5$/);
  });

  it('refuses a SPIFFE ID of another trust domain', async () => {
    const { ca } = await startTestCa();
    await rejectsCa(
      ca.issueX509Svid({ spiffeId: SpiffeId.fromSegments(TrustDomain.fromString('evil.org'), 'x'), publicKey: workloadKey().publicKey }),
      CaErrorCode.invalid,
      /^ca: SPIFFE ID "spiffe:\/\/evil\.org\/x" is not in trust domain "example\.org": this CA signs only for its own trust domain$/,
    );
  });

  it('issues agent SVIDs with the agent TTL, only for agent IDs', async () => {
    const c = clock(T0);
    const { ca } = await startTestCa({ now: c.now, agentSvidTtlSeconds: 1800 });
    const agentId = SpiffeId.fromString('spiffe://example.org/sigil/agent/join_token/abc');
    const svid = await ca.issueAgentSvid({ agentId, publicKey: workloadKey().publicKey });
    assert.equal(svid.expiresAt.getTime(), T0.getTime() + 1800_000);
    assert.equal(verifyX509Svid(svid.certificates, await ca.bundle(), { time: T0 }).id.toString(), agentId.toString());
    await rejectsCa(
      ca.issueAgentSvid({ agentId: WORKLOAD, publicKey: workloadKey().publicKey }),
      CaErrorCode.invalid,
      /^ca: agent ID "spiffe:\/\/example\.org\/ns\/prod\/sa\/web" must start with spiffe:\/\/example\.org\/sigil\/agent\/$/,
    );
  });

  it("issues the server's own SVID with its DNS names", async () => {
    const { ca } = await startTestCa();
    assert.equal(ca.serverId.toString(), 'spiffe://example.org/sigil/server');
    const svid = await ca.issueServerSvid({ publicKey: workloadKey().publicKey, dnsNames: ['sigil-server.example.org', 'localhost'] });
    const leaf = svid.certificates[0]!;
    assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/sigil/server, DNS:sigil-server.example.org, DNS:localhost');
    assert.equal(leaf.checkHost('localhost'), 'localhost');
    const r = opensslVerify(dir, { roots: await ca.x509Authorities(), leaf });
    assert.equal(r.status, 0, r.output);
  });

  it("issues the server's own SVID with IP addresses, for agents that dial it by IP", async () => {
    const { ca } = await startTestCa();
    const svid = await ca.issueServerSvid({
      publicKey: workloadKey().publicKey, dnsNames: ['sigil-server.example.org'], ipAddresses: ['127.0.0.1', '::1'],
    });
    const leaf = svid.certificates[0]!;
    assert.equal(
      leaf.subjectAltName,
      'URI:spiffe://example.org/sigil/server, DNS:sigil-server.example.org, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.equal(leaf.checkIP('::1'), '::1');
    const r = opensslVerify(dir, { roots: await ca.x509Authorities(), leaf });
    assert.equal(r.status, 0, r.output);
    await assert.rejects(
      ca.issueServerSvid({ publicKey: workloadKey().publicKey, ipAddresses: ['localhost'] }),
      (e: unknown) => e instanceof X509ProfileError && e.status === 3 && e.message === 'x509svid: invalid IP address "localhost"',
    );
  });
});
