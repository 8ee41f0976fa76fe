/**
 * CA and JWT key rotation under a running agent and workload, real processes only, once per key
 * manager (key-manager-cases.ts). The CA lives 30 s, so the next one is prepared at 15 s,
 * activated at 25 s, and the first expires at 30 s and leaves the bundle at 35 s (SVIDs live 5 s,
 * the most a sixth of the CA TTL allows). Throughout, this process samples the Workload API every
 * 150 ms — the latest message of an open FetchX509SVID stream, a fresh fetch, and a JWT-SVID
 * checked against a fresh JWT bundle — and every sample must verify, unexpired, against the
 * bundle it came with: no gap. At the end the agent API's own TLS certificate must come from a
 * later CA and verify against the bundle.
 */
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import type { JwtBundlesResponseMsg, JwtSvidResponseMsg, X509SvidResponseMsg } from '../../../agent/workloadapi/messages.js';
import { messageOf } from '../../../spiffe/errors.js';
import { JwtBundle, X509Bundle } from '../../../spiffe/bundle/index.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { verifyX509Svid, X509Svid } from '../../../spiffe/x509svid/index.js';
import { StreamRecorder, TestWorkloadClient } from '../workloadapi/workload-client.js';
import { AGENT_READY, poll, SERVER_READY, sigilOk, SigilProcess, sleep } from './harness.js';
import { KEY_MANAGER_CASES, type KeyManagerCase, type KeyManagerSetup } from './key-manager-cases.js';

const TD = TrustDomain.fromString('rotation.sigil.test');
// Short enough for a test, long enough for a loaded 2-core machine: setting up the agent and the
// workload took 10 s of the 25 before the first activation (5 helpers' tests running at once), and
// a renewed SVID arrived with as little as 1 s left of a 3 s one (renewal at 45 % of its life).
const CA_TTL_S = 30;
const SVID_TTL_S = CA_TTL_S / 6;
/** How long an expired CA stays in the bundle: CA TTL / 6 (server/ca/schedule.ts). */
const PRUNE_MARGIN_MS = (CA_TTL_S / 6) * 1000;
const SAMPLE_MS = 150;
const AUDIENCE = ['rotation-test'];

interface CaShow {
  x509: { authorities: { status: string; authority_id: string; expires_at: number }[]; next_activate_at: number | null };
  jwt: { authorities: { status: string; key_id: string }[] };
}

/** Checks one Workload API X.509 answer at `at`; returns the root it verified to and the bundle's roots (fingerprints). */
function checkX509(msg: X509SvidResponseMsg, at: Date): { root: string; bundle: string[] } {
  const s = msg.svids[0];
  assert.ok(s !== undefined, 'no SVID in the response');
  const svid = X509Svid.parseRaw(s.x509_svid, s.x509_svid_key);
  const bundle = X509Bundle.parseRaw(TD, s.bundle);
  for (const cert of svid.certificates) {
    assert.ok(new Date(cert.validTo) > at, `${cert.subject} expired at ${cert.validTo}`);
  }
  const verified = verifyX509Svid(svid.certificates, bundle, { time: at });
  return { root: verified.chains[0]!.at(-1)!.fingerprint256, bundle: bundle.x509Authorities().map((c) => c.fingerprint256) };
}

/**
 * Lets this process read what reached its sockets while it was not running: after a stall (a loaded
 * machine), the sleep's timer fires before the poll phase reads the agent's pushes, and the stream's
 * latest message would look older than the agent left it.
 */
async function drainIo(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** The leaf certificate the server's agent API presents. */
function serverCertificate(port: number): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
      const cert = socket.getPeerX509Certificate();
      socket.destroy();
      if (cert === undefined) reject(new Error('the server presented no certificate'));
      else resolve(cert);
    });
    socket.once('error', reject);
  });
}

function rotationSuite(c: KeyManagerCase): void {
  describe(`e2e: CA rotation under a running agent and workload (${c.name} key manager)`, function () {
    const skip = c.skip?.();
    if (skip !== undefined) {
      it.skip(`needs ${skip}`);
      return;
    }
    this.timeout(90_000);
    let dir: string;
    const procs: SigilProcess[] = [];
    const clients: TestWorkloadClient[] = [];
    let setup: KeyManagerSetup | undefined;

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'sgrot-'));
      chmodSync(dir, 0o755);
    });
    afterEach(function () {
      if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(p.output());
    });
    after(async () => {
      for (const cl of clients) cl.close();
      for (const p of procs) await p.kill();
      setup?.cleanup?.();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('every sample of the Workload API verifies against the bundle it came with, across prepare, activate and prune', async () => {
      setup = await c.setup(dir);
      const admin = ['--admin-socket', join(dir, 'admin.sock')];
      const config = join(dir, 'server.yaml');
      // JSON is YAML.
      writeFileSync(config, JSON.stringify({
        trustDomain: TD.name, bind: '127.0.0.1:0', dataDir: join(dir, 'server'), adminSocket: join(dir, 'admin.sock'),
        ca: { ttl: CA_TTL_S, keyManager: setup.keyManager },
        svid: { x509Ttl: SVID_TTL_S, agentTtl: SVID_TTL_S, jwtTtl: SVID_TTL_S },
      }));
      const server = new SigilProcess('server', ['server', 'run', '--config', config], setup.env);
      procs.push(server);
      const port = (await server.ready(SERVER_READY))[3]!;
      // First, before anything can have rotated: the CA and JWT key the server started with.
      const first = JSON.parse(sigilOk('server', 'ca', 'show', '--output', 'json', ...admin)) as CaShow;
      const caA = first.x509.authorities.find((a) => a.status === 'active')!;
      writeFileSync(join(dir, 'bundle.pem'), sigilOk('server', 'bundle', 'show', ...admin));
      const token = JSON.parse(sigilOk('server', 'token', 'generate', '--output', 'json', ...admin)) as { value: string; agent_id: string };
      const socketPath = join(dir, 'api.sock');
      const agent = new SigilProcess('agent', [
        'agent', 'run', '--trust-domain', TD.name, '--server-address', `127.0.0.1:${port}`, '--trust-bundle', join(dir, 'bundle.pem'),
        '--socket-path', socketPath, '--data-dir', join(dir, 'agent'), '--join-token', token.value,
      ]);
      procs.push(agent);
      await agent.ready(AGENT_READY);
      const spiffeId = `${TD.idString()}/workload`;
      sigilOk('server', 'entry', 'create', '--parent-id', token.agent_id, '--spiffe-id', spiffeId, '--selector', `unix:uid:${process.getuid!()}`, ...admin);

      const client = new TestWorkloadClient(socketPath);
      clients.push(client);
      const stream = new StreamRecorder(client.stream<X509SvidResponseMsg>('FetchX509SVID'));
      await poll('the first X.509-SVID', () => (stream.messages.length > 0 ? true : undefined), 20_000);
      // The test needs to watch CA A sign before B takes over (25 s into A's life).
      const activation = first.x509.next_activate_at! * 1000;
      assert.ok(Date.now() < activation - 2000, `setup took until ${new Date().toISOString()}, too close to the first activation at ${new Date(activation).toISOString()}`);

      const failures: string[] = [];
      const roots: { at: number; root: string }[] = [];
      const bundleSeen: { at: number; bundle: string[] }[] = [];
      const start = Date.now();
      let samples = 0;
      let prunedAt: number | undefined;
      // Until the first CA has left the bundle again (35 s into its life), and a little after.
      const deadline = caA.expires_at * 1000 + PRUNE_MARGIN_MS + 6000;
      while (Date.now() < deadline && (prunedAt === undefined || Date.now() < prunedAt + 1500)) {
        await drainIo();
        const at = new Date();
        const t = `${((at.getTime() - start) / 1000).toFixed(2)} s`;
        samples++;
        try {
          const latest = checkX509(stream.messages.at(-1)!, at);
          roots.push({ at: at.getTime(), root: latest.root });
          bundleSeen.push({ at: at.getTime(), bundle: latest.bundle });
        } catch (err) {
          failures.push(`${t} stream: ${messageOf(err)}`);
        }
        try {
          const fetched = await client.first<X509SvidResponseMsg>('FetchX509SVID');
          const r = checkX509(fetched, new Date());
          bundleSeen.push({ at: Date.now(), bundle: r.bundle });
        } catch (err) {
          failures.push(`${t} fetch: ${messageOf(err)}`);
        }
        try {
          const jwt = await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: AUDIENCE });
          const jwks = await client.first<JwtBundlesResponseMsg>('FetchJWTBundles');
          await parseAndValidate(jwt.svids[0]!.svid, JwtBundle.parse(TD, jwks.bundles[TD.idString()]!), AUDIENCE, { now: new Date() });
        } catch (err) {
          failures.push(`${t} jwt: ${messageOf(err)}`);
        }
        if (prunedAt === undefined && bundleSeen.length > 0 && roots.some((r) => r.root !== roots[0]!.root)) {
          const a = roots[0]!.root;
          if (!bundleSeen.at(-1)!.bundle.includes(a)) prunedAt = Date.now();
        }
        await sleep(SAMPLE_MS);
      }
      assert.deepEqual(failures, [], `${failures.length} of ${samples} samples failed`);

      // The rotation did happen, in SPIRE's order: B in the bundle before anything B signed arrived,
      // and A gone from the bundle at the end.
      const a = roots[0]!.root;
      const firstOfB = roots.find((r) => r.root !== a);
      assert.ok(firstOfB !== undefined, 'the workload never received an SVID from the second CA');
      const b = firstOfB.root;
      const bTrusted = bundleSeen.find((s) => s.bundle.includes(b));
      assert.ok(bTrusted !== undefined && bTrusted.at < firstOfB.at - 1000, 'the new CA was in the bundle over a second before it signed');
      assert.ok(prunedAt !== undefined, 'the first CA never left the workload bundle');
      assert.ok(bundleSeen.at(-1)!.bundle.includes(b));

      const shown = JSON.parse(sigilOk('server', 'ca', 'show', '--output', 'json', ...admin)) as CaShow;
      const ids = shown.x509.authorities.map((x) => x.authority_id);
      assert.ok(!ids.includes(caA.authority_id), 'the first CA was pruned from the journal too');
      assert.equal(shown.x509.authorities.filter((x) => x.status === 'active').length, 1);
      const firstKid = first.jwt.authorities.find((k) => k.status === 'active')!.key_id;
      const activeKid = shown.jwt.authorities.find((k) => k.status === 'active')!.key_id;
      assert.notEqual(activeKid, firstKid, `the JWT key rotated too: ${JSON.stringify({ first, shown })}`);
      assert.ok(agent.running && server.running);

      // The agent API's own TLS SVID has moved on to a CA in today's bundle, and verifies against it.
      const pem = sigilOk('server', 'bundle', 'show', ...admin);
      const serverSvid = await serverCertificate(Number(port));
      const root = verifyX509Svid([serverSvid], X509Bundle.parse(TD, pem), { time: new Date() }).chains[0]!.at(-1)!;
      assert.notEqual(root.fingerprint256, a, "the server's TLS SVID is no longer from the first CA");
      assert.ok(samples > 50, `only ${samples} samples`);
    });
  });
}

for (const c of KEY_MANAGER_CASES) rotationSuite(c);
