/**
 * sigil end to end, real processes only: `bin/sigil server run` on SQLite in a temp dir, join token,
 * bundle and entries through the admin CLI, `bin/sigil agent run` with the bundle from the CLI, and
 * workloads as setuid children, this (root) process over the Workload API, and the agent CLI. The
 * cases run in order and share the server and agent, as an operator's day would: each leaves the
 * system in the state the next one starts from.
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import type { X509SvidResponseMsg } from '../../../agent/workloadapi/messages.js';
import { StreamRecorder, TestWorkloadClient } from '../workloadapi/workload-client.js';
import { AGENT_READY, leaf, poll, SERVER_READY, sigil, sigilOk, SigilProcess } from './harness.js';

const run = promisify(execFile);
const FETCH_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'workloadapi', 'children', 'fetch.js');
const TD = 'e2e.sigil.test';
const WORKLOAD_UID = 1000;
const OTHER_UID = 65534;

interface ChildResult {
  uid: number;
  ok: boolean;
  ids?: string[];
  code?: number;
  details?: string;
}

async function fetchAs(socketPath: string, uid: number): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [FETCH_CHILD, socketPath, 'x509'], { uid, gid: uid, timeout: 20_000 });
  return JSON.parse(stdout) as ChildResult;
}

const ids = (m: X509SvidResponseMsg): string[] => m.svids.map((s) => s.spiffe_id).sort();

describe('e2e: server, admin CLI, agent and workloads as real processes', function () {
  if (process.getuid?.() !== 0) {
    it.skip('needs root to start workloads as other users');
    return;
  }
  this.timeout(60_000);

  let dir: string;
  let server: SigilProcess;
  let agent: SigilProcess;
  let serverArgs: string[];
  let agentArgs: string[];
  let admin: string[];
  let agentId: string;
  let socketPath: string;
  const clients: TestWorkloadClient[] = [];
  const procs: SigilProcess[] = [];

  const client = (): TestWorkloadClient => {
    const c = new TestWorkloadClient(socketPath);
    clients.push(c);
    return c;
  };
  const startServer = async (): Promise<number> => {
    server = new SigilProcess('server', ['server', 'run', ...serverArgs]);
    procs.push(server);
    return Number((await server.ready(SERVER_READY))[3]);
  };
  const startAgent = async (joinToken: string): Promise<string> => {
    agent = new SigilProcess('agent', ['agent', 'run', ...agentArgs, '--join-token', joinToken]);
    procs.push(agent);
    return (await agent.ready(AGENT_READY))[1]!;
  };
  const createEntry = (spiffeId: string, selector: string, ...extra: string[]): string => {
    const out = JSON.parse(
      sigilOk('server', 'entry', 'create', '--parent-id', agentId, '--spiffe-id', spiffeId, '--selector', selector, ...extra, '--output', 'json', ...admin),
    ) as { results: { status: { code: number; message: string }; entry: { id: string } }[] };
    assert.equal(out.results[0]?.status.code, 0, JSON.stringify(out));
    return out.results[0]!.entry.id;
  };

  before(async function () {
    // Short (socket paths are limited to 107 bytes) and 0755 so that workloads under other uids reach the socket.
    dir = mkdtempSync(join(tmpdir(), 'sge2e-'));
    chmodSync(dir, 0o755);
    admin = ['--admin-socket', join(dir, 'admin', 'admin.sock')];
    serverArgs = ['--trust-domain', TD, '--bind', '127.0.0.1:0', '--data-dir', join(dir, 'server'), ...admin];
    const port = await startServer();
    // A restart must come back where the agent already dials.
    serverArgs = serverArgs.map((a) => (a === '127.0.0.1:0' ? `127.0.0.1:${port}` : a));

    const bundlePem = sigilOk('server', 'bundle', 'show', '--format', 'pem', ...admin);
    assert.match(bundlePem, /^-----BEGIN CERTIFICATE-----/);
    writeFileSync(join(dir, 'bundle.pem'), bundlePem);
    const token = JSON.parse(sigilOk('server', 'token', 'generate', '--output', 'json', ...admin)) as { value: string; agent_id: string };

    // Not under the data dir's parent: the agent creates the data dir's missing ancestors 0700 too.
    socketPath = join(dir, 'public', 'api.sock');
    agentArgs = [
      '--trust-domain', TD, '--server-address', `127.0.0.1:${port}`, '--trust-bundle', join(dir, 'bundle.pem'),
      '--socket-path', socketPath, '--data-dir', join(dir, 'agent-data'),
    ];
    agentId = await startAgent(token.value);
    assert.equal(agentId, token.agent_id);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(p.output());
  });

  after(async function () {
    for (const c of clients) c.close();
    for (const p of procs) await p.kill();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('a workload under the uid of an entry gets exactly its SVID; one under another uid gets PermissionDenied', async function () {
    const id = `spiffe://${TD}/e2e/uid-${WORKLOAD_UID}`;
    createEntry(id, `unix:uid:${WORKLOAD_UID}`);
    let last: ChildResult | undefined;
    const got = await poll(
      'the SVID for uid 1000 reaching the agent',
      async () => {
        last = await fetchAs(socketPath, WORKLOAD_UID);
        return last.ok ? last : undefined;
      },
      15_000,
      () => `(last answer: ${JSON.stringify(last)})`,
    );
    assert.equal(got.uid, WORKLOAD_UID);
    assert.deepEqual(got.ids, [id]);

    const other = await fetchAs(socketPath, OTHER_UID);
    assert.equal(other.uid, OTHER_UID);
    assert.equal(other.ok, false, JSON.stringify(other));
    assert.equal(other.code, status.PERMISSION_DENIED, JSON.stringify(other));
  });

  it("root's SVID, written by `agent api fetch x509 --write`, verifies against the server's bundle with openssl", async function () {
    const id = `spiffe://${TD}/e2e/root`;
    createEntry(id, 'unix:uid:0');
    const out = join(dir, 'svid');
    mkdirSync(out);
    await poll('`sigil agent api fetch x509 --write` succeeding', () => {
      const r = sigil('agent', 'api', 'fetch', 'x509', '--socket-path', socketPath, '--write', out, '--silent');
      return r.status === 0 ? true : undefined;
    });
    const svids = readdirSync(out).filter((f) => /^svid\.\d+\.pem$/.test(f));
    assert.deepEqual(svids, ['svid.0.pem'], 'uid 0 has exactly one entry');
    const san = spawnSync('openssl', ['x509', '-in', join(out, 'svid.0.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.equal(san.status, 0, san.stderr);
    assert.match(san.stdout, new RegExp(`URI:${id}$`, 'm'));
    // The bundle from the admin CLI, not the one the agent wrote: the chain must verify against the server's word.
    const verify = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(out, 'svid.0.pem')], { encoding: 'utf8' });
    assert.equal(verify.status, 0, `${verify.stdout}${verify.stderr}`);
    assert.match(verify.stdout, /: OK$/m);
  });

  let stream: StreamRecorder<X509SvidResponseMsg>;
  let shortId: string;
  let shortEntryId: string;

  it('a 6 s SVID is rotated (new serial) on an open FetchX509SVID stream before it expires', async function () {
    stream = new StreamRecorder(client().stream<X509SvidResponseMsg>('FetchX509SVID'));
    await stream.messageCount(1, 10_000);
    shortId = `spiffe://${TD}/e2e/short`;
    shortEntryId = createEntry(shortId, 'unix:uid:0', '--x509-ttl', '6');
    const short = (m: X509SvidResponseMsg): Buffer | undefined => m.svids.find((s) => s.spiffe_id === shortId)?.x509_svid;

    await stream.waitFor(() => stream.messages.some((m) => short(m) !== undefined), 10_000, 'the 6 s SVID on the stream');
    const first = leaf(short(stream.messages.find((m) => short(m) !== undefined)!)!);
    const expires = new Date(first.validTo).getTime();
    assert.ok(expires - Date.now() <= 7_000, `the 6 s SVID expires at ${first.validTo}`);

    let rotatedAt = 0;
    await stream.waitFor(
      () => {
        const latest = stream.messages.at(-1)!;
        const der = short(latest);
        if (der === undefined || leaf(der).serialNumber === first.serialNumber) return false;
        rotatedAt ||= Date.now();
        return true;
      },
      10_000,
      'a rotated 6 s SVID',
    );
    const rotated = leaf(short(stream.messages.at(-1)!)!);
    assert.notEqual(rotated.serialNumber, first.serialNumber);
    assert.ok(rotatedAt < expires, `rotated at ${new Date(rotatedAt).toISOString()}, after the old one expired at ${first.validTo}`);
    assert.ok(new Date(rotated.validTo).getTime() > expires);
    assert.equal(stream.status, undefined, 'the stream stays open through the rotation');
  });

  it('deleting an entry takes its SVID off the open stream promptly; deleting the last one ends the stream with PermissionDenied', async function () {
    const deletedAt = Date.now();
    sigilOk('server', 'entry', 'delete', '--id', shortEntryId, ...admin);
    const before = stream.messages.length;
    await stream.waitFor(
      () => stream.messages.length > before && !stream.messages.at(-1)!.svids.some((s) => s.spiffe_id === shortId),
      5_000,
      'a response without the deleted SVID',
    );
    assert.ok(Date.now() - deletedAt < 5_000);
    assert.deepEqual(ids(stream.messages.at(-1)!), [`spiffe://${TD}/e2e/root`]);
    assert.equal(stream.status, undefined);

    // The spec: a stream that has carried SVIDs and loses them all is refused, not sent an empty response.
    const root = JSON.parse(sigilOk('server', 'entry', 'list', '--spiffe-id', `spiffe://${TD}/e2e/root`, '--output', 'json', ...admin)) as {
      entries: { id: string }[];
    };
    assert.equal(root.entries.length, 1);
    sigilOk('server', 'entry', 'delete', '--id', root.entries[0]!.id, ...admin);
    await stream.ended(5_000);
    const ended = stream.status as StatusObject | undefined;
    assert.equal(ended?.code, status.PERMISSION_DENIED, ended?.details);
  });

  it('a call without the workload.spiffe.io header is refused with InvalidArgument', async function () {
    createEntry(`spiffe://${TD}/e2e/root-2`, 'unix:uid:0');
    await assert.rejects(client().first('FetchX509SVID', { header: 'missing' }), (err: ServiceError) => {
      assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
      return true;
    });
  });

  it('with the server stopped the agent serves its cache and reports degraded; a restarted server’s new entry reaches it', async function () {
    const rootId = `spiffe://${TD}/e2e/root-2`;
    const c = client();
    await poll('root-2 on the agent', async () => {
      const m = await c.first<X509SvidResponseMsg>('FetchX509SVID').catch((err: ServiceError) => {
        if (err.code === status.PERMISSION_DENIED) return undefined;
        throw err;
      });
      return m !== undefined && ids(m).includes(rootId) ? true : undefined;
    });

    const exit = await server.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });

    const cached = await c.first<X509SvidResponseMsg>('FetchX509SVID');
    assert.deepEqual(ids(cached), [rootId]);
    const cli = sigil('agent', 'api', 'fetch', 'x509', '--socket-path', socketPath, '--output', 'json');
    assert.equal(cli.status, 0, cli.stderr);
    assert.ok(cli.stdout.includes(rootId), cli.stdout);

    // The agent notices when its streams to the server break; ready stays true while degraded (agent/health.ts).
    const health = await poll('healthcheck reporting degraded', () => {
      const r = sigil('agent', 'healthcheck', '--verbose', '--socket-path', socketPath);
      return /degraded/.test(r.stdout + r.stderr) ? r : undefined;
    });
    assert.equal(health.status, 0, `${health.stdout}${health.stderr}`);
    assert.match(health.stdout, /Agent is healthy \(ready, degraded: the server at \S+ is unreachable since /);

    await startServer();
    const newId = `spiffe://${TD}/e2e/after-restart`;
    createEntry(newId, 'unix:uid:0');
    await poll('the entry created after the restart reaching the agent', async () => {
      const m = await c.first<X509SvidResponseMsg>('FetchX509SVID');
      return ids(m).includes(newId) ? true : undefined;
    }, 20_000);
    await poll('healthcheck no longer degraded', () => {
      const r = sigil('agent', 'healthcheck', '--verbose', '--socket-path', socketPath);
      return r.status === 0 && !/degraded/.test(r.stdout) ? true : undefined;
    }, 20_000);
  });

  it('a restarted agent comes back with its agent ID from its data dir without attesting again', async function () {
    const exit = await agent.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null });
    // Never generated: attesting with it would be refused, so reaching ready proves the agent reused its SVID.
    const again = await startAgent(randomUUID());
    assert.equal(again, agentId);

    const agents = JSON.parse(sigilOk('server', 'agent', 'list', '--output', 'json', ...admin)) as { agents: Record<string, unknown>[] };
    assert.equal(agents.agents.length, 1, JSON.stringify(agents));
    assert.equal(agents.agents[0]!['id'], agentId, JSON.stringify(agents));

    const m = await client().first<X509SvidResponseMsg>('FetchX509SVID');
    assert.deepEqual(ids(m), [`spiffe://${TD}/e2e/after-restart`, `spiffe://${TD}/e2e/root-2`]);
  });
});
