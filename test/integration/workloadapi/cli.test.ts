/**
 * `sigil agent api …` and `sigil agent healthcheck`, run as the real CLI in child processes against
 * a Workload API in this process: files openssl accepts, text and JSON output, SPIFFE_ENDPOINT_SOCKET,
 * watch printing each push and exiting 0 on SIGINT, exit codes.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/shared.js';
import { startHarness, type Harness } from './harness.js';

const SIGIL = join(REPO_ROOT, 'bin', 'sigil');
const ME = `unix:uid:${process.getuid?.() ?? 0}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sigil(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const base = { ...process.env };
    delete base['SPIFFE_ENDPOINT_SOCKET'];
    execFile(process.execPath, [SIGIL, ...args], { env: { ...base, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

function openssl(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile('openssl', args, (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number(err.code ?? -1), stdout, stderr }));
  });
}

describe('cli: sigil agent api / healthcheck', function () {
  this.timeout(60_000);
  let h: Harness;
  let out: string;
  beforeEach(async () => {
    h = await startHarness();
    out = mkdtempSync('/tmp/sigil-cli-out-');
  });
  afterEach(async () => {
    rmSync(out, { recursive: true, force: true });
    await h.close();
  });

  it('fetch x509 --write writes svid.N.pem, svid.N.key (0600) and bundle.N.pem that openssl accepts', async () => {
    h.view.setIdentities([
      await h.authority.issue('/one', [ME], { createdAt: 1 }),
      await h.authority.issue('/two', [ME], { createdAt: 2, hint: 'second' }),
    ]);
    const r = await sigil(['agent', 'api', 'fetch', 'x509', '--socket-path', h.socketPath, '--write', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Writing SVID #0 to file .*svid\.0\.pem\./);
    assert.deepEqual(readdirSync(out).sort(), ['bundle.0.pem', 'bundle.1.pem', 'svid.0.key', 'svid.0.pem', 'svid.1.key', 'svid.1.pem']);
    assert.equal(statSync(join(out, 'svid.0.key')).mode & 0o777, 0o600);
    for (const [n, path] of [[0, '/one'], [1, '/two']] as const) {
      const verify = await openssl(['verify', '-CAfile', join(out, `bundle.${n}.pem`), join(out, `svid.${n}.pem`)]);
      assert.equal(verify.code, 0, verify.stderr);
      const san = await openssl(['x509', '-in', join(out, `svid.${n}.pem`), '-noout', '-ext', 'subjectAltName']);
      assert.match(san.stdout, new RegExp(`URI:spiffe://example.org${path}`));
      const fromKey = await openssl(['pkey', '-in', join(out, `svid.${n}.key`), '-pubout']);
      const fromCert = await openssl(['x509', '-in', join(out, `svid.${n}.pem`), '-noout', '-pubkey']);
      assert.equal(fromKey.stdout, fromCert.stdout);
    }
  });

  it('fetch (x509 by default) prints spire-agent style text, and --output json', async () => {
    h.view.addIdentity(await h.authority.issue('/text', [ME], { hint: 'internal' }));
    const text = await sigil(['agent', 'api', 'fetch', '--socket-path', h.socketPath]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Received 1 svid after \d+\.\d{3}ms\n\nSPIFFE ID:\t\tspiffe:\/\/example\.org\/text\nHint:\t\t\tinternal\nSVID Valid After:\t/);
    assert.match(text.stdout, /CA #1 Valid Until:\t/);
    const json = await sigil(['agent', 'api', 'fetch', 'x509', '--socket-path', h.socketPath, '--output', 'json']);
    const parsed = JSON.parse(json.stdout) as { svids: { spiffe_id: string; hint: string; x509_svid: string; bundle: string }[] };
    assert.equal(parsed.svids[0]?.spiffe_id, 'spiffe://example.org/text');
    assert.equal(parsed.svids[0]?.hint, 'internal');
    assert.match(parsed.svids[0]?.x509_svid ?? '', /^-----BEGIN CERTIFICATE-----/);
  });

  it('takes the socket from SPIFFE_ENDPOINT_SOCKET, and says what is wrong with a bad one', async () => {
    h.view.addIdentity(await h.authority.issue('/env', [ME]));
    const r = await sigil(['agent', 'api', 'fetch', 'x509'], { SPIFFE_ENDPOINT_SOCKET: `unix://${h.socketPath}` });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /spiffe:\/\/example\.org\/env/);
    const bad = await sigil(['agent', 'api', 'fetch', 'x509'], { SPIFFE_ENDPOINT_SOCKET: h.socketPath });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /SPIFFE_ENDPOINT_SOCKET: workload endpoint socket URI must have a "tcp" or "unix" scheme/);
  });

  it('fails with exit code 1 and the reason when there is no identity or no agent', async () => {
    const none = await sigil(['agent', 'api', 'fetch', 'x509', '--socket-path', h.socketPath]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^Error: no identity issued \(PermissionDenied\)\n/);
    const nowhere = await sigil(['agent', 'api', 'fetch', 'x509', '--socket-path', join(out, 'absent.sock'), '--timeout', '2']);
    assert.equal(nowhere.code, 1);
    assert.match(nowhere.stderr, /cannot reach the agent on .*absent\.sock|did not answer/);
  });

  it('fetch jwt prints each token and the JWT bundles; validate jwt checks one', async () => {
    h.view.addIdentity(await h.authority.issue('/jwt', [ME]));
    const r = await sigil(['agent', 'api', 'fetch', 'jwt', '--audience', 'db,cache', '--socket-path', h.socketPath]);
    assert.equal(r.code, 0, r.stderr);
    const m = /^token\(spiffe:\/\/example\.org\/jwt\):\n\t(\S+)\nbundle\(spiffe:\/\/example\.org\):\n\t\{/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const token = m[1] ?? '';
    const ok = await sigil(['agent', 'api', 'validate', 'jwt', '--audience', 'cache', '--svid', token, '--socket-path', h.socketPath]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /^SVID is valid\.\nSPIFFE ID : spiffe:\/\/example\.org\/jwt\nClaims    : \{.*"aud":\["db","cache"\]/);
    const json = await sigil(['agent', 'api', 'validate', 'jwt', '--audience', 'db', '--svid', token, '--socket-path', h.socketPath, '--output', 'json']);
    assert.equal((JSON.parse(json.stdout) as { spiffe_id: string }).spiffe_id, 'spiffe://example.org/jwt');
    const wrong = await sigil(['agent', 'api', 'validate', 'jwt', '--audience', 'other', '--svid', token, '--socket-path', h.socketPath]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /audience.*\(INVALID_ARGUMENT\)/);
    const only = await sigil(['agent', 'api', 'fetch', 'jwt', '--audience', 'x', '--spiffe-id', 'spiffe://example.org/jwt', '--socket-path', h.socketPath, '--output', 'json']);
    const parsed = JSON.parse(only.stdout) as { svids: { spiffe_id: string }[]; bundles: Record<string, { keys: unknown[] }> };
    assert.deepEqual(parsed.svids.map((s) => s.spiffe_id), ['spiffe://example.org/jwt']);
    assert.equal(parsed.bundles['spiffe://example.org']?.keys.length, 1);
  });

  it('watch prints every push and exits 0 on SIGINT', async () => {
    h.view.addIdentity(await h.authority.issue('/w1', [ME], { createdAt: 1 }));
    const child = spawn(process.execPath, [SIGIL, 'agent', 'api', 'watch', '--socket-path', h.socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const until = async (re: RegExp): Promise<void> => {
      const end = Date.now() + 20_000;
      while (!re.test(stdout)) {
        if (Date.now() > end) throw new Error(`watch printed: ${stdout}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await until(/Received 1 svid after/);
    h.view.addIdentity(await h.authority.issue('/w2', [ME], { createdAt: 2 }));
    await until(/Received 2 svids after/);
    assert.match(stdout, /spiffe:\/\/example\.org\/w2/);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });

  it('healthcheck: 0 when ready, 1 with the reason when not, --shallow asks liveness, 1 without an agent', async () => {
    const ready = await sigil(['agent', 'healthcheck', '--socket-path', h.socketPath]);
    assert.deepEqual([ready.code, ready.stdout], [0, 'Agent is healthy.\n']);
    h.view.healthState = { ready: false, live: true, detail: 'waiting for the first sync' };
    const notReady = await sigil(['agent', 'healthcheck', '--socket-path', h.socketPath]);
    assert.equal(notReady.code, 1);
    assert.match(notReady.stderr, /^Error: agent is unhealthy: waiting for the first sync\n/);
    const shallow = await sigil(['agent', 'healthcheck', '--shallow', '--socket-path', h.socketPath]);
    assert.equal(shallow.code, 0, shallow.stderr);
    const json = await sigil(['agent', 'healthcheck', '--output', 'json'], { SPIFFE_ENDPOINT_SOCKET: `unix://${h.socketPath}` });
    assert.equal(json.code, 1);
    assert.deepEqual(JSON.parse(json.stdout), { healthy: false, status: 'NOT_SERVING', detail: 'waiting for the first sync' });
    const absent = await sigil(['agent', 'healthcheck', '--socket-path', join(out, 'none.sock'), '--timeout', '2']);
    assert.equal(absent.code, 1);
  });
});
