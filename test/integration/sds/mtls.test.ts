/**
 * Envoy SDS through the real agent (in-process SigilServer, SigilAgent serving its socket), with
 * the Envoy-like client built from Envoy's own protos:
 *   - two workloads, child processes under two uids with one entry each, take their SVIDs and the
 *     ROOTCA / ALL validation contexts over SDS and complete mutual TLS with each other (node:tls)
 *     using nothing else, each checking the other's SPIFFE ID; a peer from a trust domain that is
 *     not in the bundle fails the handshake, in either direction;
 *   - a workload SVID with a TTL of seconds rotates, and each rotation is pushed on the open stream
 *     (new version, new nonce, ACKed), while the bundle's stream stays quiet.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { EnvoySdsClient } from '../../support/envoy-sds-client.js';
import { TestAuthority } from '../../fakes/workload-view.js';
import { agentIdFor, pem, TD, UID_SELECTOR, useFixtures, waitForSnapshot } from '../agent/harness.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'children', 'envoy-workload.js');
const WEB = `spiffe://${TD}/web`;
const BACKEND = `spiffe://${TD}/backend`;

type Event = Record<string, unknown> & { event: string };

/** A child workload under `uid`, its JSON lines collected. */
class Workload {
  readonly child: ChildProcess;
  readonly events: Event[] = [];
  stderr = '';
  readonly exited: Promise<number | null>;
  #partial = '';

  constructor(uid: number, args: string[]) {
    this.child = spawn(process.execPath, [CHILD, ...args], { uid, gid: uid, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const lines = (this.#partial + d).split('\n');
      this.#partial = lines.pop()!;
      for (const l of lines) if (l.trim() !== '') this.events.push(JSON.parse(l) as Event);
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async event(name: string, ms = 30_000): Promise<Event> {
    const deadline = Date.now() + ms;
    for (;;) {
      const e = this.events.find((x) => x.event === name);
      if (e !== undefined) return e;
      const failed = this.events.find((x) => x.event === 'failed');
      if (failed !== undefined) assert.fail(`workload failed: ${String(failed['error'])}\n${this.stderr}`);
      if (Date.now() > deadline) assert.fail(`no "${name}" event within ${ms} ms: ${JSON.stringify(this.events)}\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** A certificate and key from a trust domain the agent's bundle does not hold. */
async function foreignPeer(): Promise<{ cert: string; key: string; ca: string }> {
  const evil = await TestAuthority.create('evil.org');
  const id = await evil.issue('/backend', []);
  const key = createPrivateKey({ key: id.privateKeyDer, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { cert: pem(id.certChainDer), key, ca: pem(evil.caDer) };
}

describe('sds: through the real agent', function () {
  this.timeout(90_000);
  const f = useFixtures();
  let workloads: Workload[] = [];
  afterEach(() => {
    for (const w of workloads) w.kill();
    workloads = [];
  });

  describe('two workloads under two uids', function () {
    if (process.getuid?.() !== 0) {
      it.skip('needs root to start workloads as other users');
      return;
    }

    it('complete mutual TLS using only what SDS delivered, and refuse a peer from a trust domain not in the bundle', async () => {
      const server = await f.server();
      const token = await server.token();
      await server.createEntries([
        { spiffe_id: WEB, parent_id: agentIdFor(token), selectors: [{ type: 'unix', value: 'uid:1000' }] },
        { spiffe_id: BACKEND, parent_id: agentIdFor(token), selectors: [{ type: 'unix', value: 'uid:1001' }] },
      ]);
      const { socketPath } = await f.agent(server, { token, serve: true });
      assert.ok(socketPath !== undefined);
      // Children under other uids must reach the socket (0777) through its directory.
      chmodSync(dirname(socketPath), 0o755);
      const launch = (uid: number, args: string[]): Workload => {
        const w = new Workload(uid, [socketPath, ...args]);
        workloads.push(w);
        return w;
      };

      // web asks by SPIFFE ID and ROOTCA; backend by `default` and ALL.
      const web = launch(1000, ['serve', WEB, 'ROOTCA', BACKEND]);
      const port = String((await web.event('listening'))['port']);
      assert.equal((await web.event('secrets'))['id'], WEB);
      assert.deepEqual((await web.event('secrets'))['trustDomains'], [TD]);
      const backend = launch(1001, ['connect', 'default', 'ALL', WEB, port]);
      assert.equal(await backend.exited, 0, JSON.stringify(backend.events) + backend.stderr);
      assert.equal(backend.events.find((e) => e.event === 'secrets')?.['id'], BACKEND);
      assert.deepEqual(backend.events.find((e) => e.event === 'peer'), { event: 'peer', pid: backend.child.pid, uid: 1001, id: WEB });
      assert.equal(backend.events.find((e) => e.event === 'data')?.['text'], 'hello from the server\n');
      assert.equal((await web.event('peer'))['id'], BACKEND);

      // A client from evil.org: the server's handshake fails (its CA is in no delivered bundle).
      const evil = await foreignPeer();
      const clientErr = await new Promise<string>((resolve) => {
        const sock: TLSSocket = connect({ host: '127.0.0.1', port: Number(port), cert: evil.cert, key: evil.key, rejectUnauthorized: false });
        const done = (outcome: string): void => {
          sock.destroy();
          resolve(outcome);
        };
        sock.on('secureConnect', () => sock.write('hi'));
        sock.on('data', () => done('got data'));
        sock.on('error', (err) => done(err.message));
        sock.on('close', () => done('closed'));
      });
      assert.notEqual(clientErr, 'got data');
      // Under TLS 1.3 the server checks the client's certificate after the client considers itself
      // connected; node reports the server's refusal as a reset of the handshake.
      await web.event('handshake-failed');
      assert.equal(web.events.filter((e) => e.event === 'peer').length, 1, 'only backend was accepted');

      // A server from evil.org: the client's handshake fails.
      const evilServer = createServer({ cert: evil.cert, key: evil.key, requestCert: false }, (s) => s.end('should not be read\n'));
      await new Promise<void>((resolve) => evilServer.listen(0, '127.0.0.1', resolve));
      try {
        const evilPort = String((evilServer.address() as { port: number }).port);
        const victim = launch(1001, ['connect', 'default', 'ALL', WEB, evilPort]);
        assert.equal(await victim.exited, 1);
        assert.match(String(victim.events.find((e) => e.event === 'error')?.['error']), /certificate/i);
        assert.equal(victim.events.some((e) => e.event === 'data' || e.event === 'peer'), false);
      } finally {
        evilServer.close();
      }
    });
  });

  it('pushes each rotation of an SVID on the open stream, ACKed, and leaves the bundle stream alone', async () => {
    const server = await f.server();
    const token = await server.token();
    const id = `spiffe://${TD}/rotating`;
    await server.createEntries([{ spiffe_id: id, parent_id: agentIdFor(token), selectors: [UID_SELECTOR], x509_svid_ttl: 4 }]);
    const { agent, socketPath } = await f.agent(server, { token, serve: true });
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1);
    const sds = new EnvoySdsClient(socketPath!);
    try {
      const cert = sds.watch(id, 'certificate');
      const bundle = sds.watch(`spiffe://${TD}`, 'validation');
      await cert.ready();
      await bundle.ready();
      const chains = (): Set<string> => new Set(cert.applied.map((s) => s.tls_certificate!.certificate_chain!.inline_bytes!.toString()));
      await cert.until(() => chains().size >= 3, 20_000, 'two rotations');
      assert.equal(cert.nacks, 0);
      assert.deepEqual(cert.responses.map((r) => r.version_info), cert.responses.map((_, i) => String(i + 1)), 'one version per response, in order');
      assert.equal(new Set(cert.responses.map((r) => r.nonce)).size, cert.responses.length, 'a fresh nonce each time');
      const acks = cert.requests.slice(1);
      assert.deepEqual(acks.map((r) => r['response_nonce']), cert.responses.map((r) => r.nonce));
      assert.equal(bundle.responses.length, 1, 'an SVID rotation changes no bundle');
      cert.cancel();
      bundle.cancel();
    } finally {
      sds.close();
    }
  });
});
