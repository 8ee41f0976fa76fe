/**
 * Kubernetes workload attestation end to end, real processes and real cgroups: `bin/sigil server
 * run`, `bin/sigil agent run --workload-attestor unix --workload-attestor k8s` against a
 * kubelet-compatible HTTPS server (bearer token, its own CA), and workloads started inside
 * kubelet-style cgroups (v1 pids in the cgroupfs layout, v2 in the systemd layout) that fetch
 * their SVID over the Workload API. Entries select by `k8s:ns` + `k8s:sa`, as operators write them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { CgroupSandbox, cgroupsUnavailable, type PodContainer } from '../../support/cgroups.js';
import { pem, randomContainerId, TestKubelet, type TestPod } from '../../support/kubelet.js';
import { AGENT_READY, poll, SERVER_READY, sigilOk, SigilProcess } from '../e2e/harness.js';

const run = promisify(execFile);
const FETCH_CHILD = join(dirname(fileURLToPath(import.meta.url)), '..', 'workloadapi', 'children', 'fetch.js');
const TD = 'k8s.sigil.test';
const TOKEN = `kubelet-token-${randomUUID()}`;

interface FetchResult {
  ok: boolean;
  ids?: string[];
  code?: number;
  details?: string;
}

const container = (): PodContainer => ({ podUid: randomUUID(), containerId: randomContainerId() });

describe('k8s workload attestation: server, agent, kubelet and workloads in kubelet-style cgroups', function () {
  const why = cgroupsUnavailable();
  if (why !== undefined) {
    it.skip(why);
    return;
  }
  this.timeout(90_000);

  let dir: string;
  let socketPath: string;
  let tokenFile: string;
  let agentId: string;
  let admin: string[];
  const procs: SigilProcess[] = [];
  const cgroups = new CgroupSandbox();
  const kubelet = new TestKubelet({ tokens: new Set([TOKEN]) });
  const web = container();
  const db = container();
  const late = container();
  let agent: SigilProcess;

  const pod = (c: PodContainer, namespace: string, serviceAccount: string, name: string): TestPod => ({
    namespace,
    name,
    uid: c.podUid,
    serviceAccount,
    labels: { app: name },
    containers: [{ name, id: c.containerId }],
  });

  /** The fetch child run inside `c`'s cgroups (or on the host), its one JSON line. */
  const fetchIn = async (c: PodContainer | undefined): Promise<FetchResult> => {
    const argv = [process.execPath, FETCH_CHILD, socketPath, 'x509'];
    if (c === undefined) return JSON.parse((await run(argv[0]!, argv.slice(1), { timeout: 30_000 })).stdout) as FetchResult;
    const child = cgroups.spawnIn(c, argv);
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the workload exited ${code}: ${err}`);
    return JSON.parse(out) as FetchResult;
  };

  const createEntry = (spiffeId: string, ...selectors: string[]): void => {
    const out = JSON.parse(
      sigilOk('server', 'entry', 'create', '--parent-id', agentId, '--spiffe-id', spiffeId, ...selectors.flatMap((s) => ['--selector', s]), '--output', 'json', ...admin),
    ) as { results: { status: { code: number } }[] };
    assert.equal(out.results[0]?.status.code, 0, JSON.stringify(out));
  };

  const fetchUntilOk = async (what: string, c: PodContainer): Promise<FetchResult> => {
    let last: FetchResult | undefined;
    return poll(
      what,
      async () => {
        last = await fetchIn(c);
        return last.ok ? last : undefined;
      },
      30_000,
      () => `(last answer: ${JSON.stringify(last)})`,
      200,
    );
  };

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'sgk8s-'));
    chmodSync(dir, 0o755);
    admin = ['--admin-socket', join(dir, 'admin', 'admin.sock')];
    kubelet.pods = [pod(web, 'team-a', 'web', 'web'), pod(db, 'team-b', 'db', 'db'), pod(late, 'team-a', 'batch', 'batch')];
    await kubelet.start();

    const server = new SigilProcess('server', ['server', 'run', '--trust-domain', TD, '--bind', '127.0.0.1:0', '--data-dir', join(dir, 'server'), ...admin]);
    procs.push(server);
    const port = Number((await server.ready(SERVER_READY))[3]);
    writeFileSync(join(dir, 'bundle.pem'), sigilOk('server', 'bundle', 'show', '--format', 'pem', ...admin));
    const token = JSON.parse(sigilOk('server', 'token', 'generate', '--output', 'json', ...admin)) as { value: string };

    writeFileSync(join(dir, 'kubelet-ca.pem'), pem(kubelet.ca));
    tokenFile = join(dir, 'kubelet-token');
    writeFileSync(tokenFile, TOKEN);
    // Retry settings are file-only; the kubelet's address and credentials come as flags.
    writeFileSync(join(dir, 'agent.yaml'), 'workloadAttestors:\n  unix:\n  k8s:\n    podListCacheMs: 200\n    retryTimeoutMs: 10000\n    retryIntervalMs: 100\n');
    socketPath = join(dir, 'public', 'api.sock');
    agent = new SigilProcess('agent', [
      'agent', 'run', '--config', join(dir, 'agent.yaml'), '--trust-domain', TD, '--server-address', `127.0.0.1:${port}`,
      '--trust-bundle', join(dir, 'bundle.pem'), '--socket-path', socketPath, '--data-dir', join(dir, 'agent-data'),
      '--join-token', token.value, '--log-level', 'debug',
      '--workload-attestor', 'unix', '--workload-attestor', 'k8s',
      '--kubelet-url', kubelet.url, '--kubelet-ca', join(dir, 'kubelet-ca.pem'), '--kubelet-token-file', tokenFile, '--node-name', 'node-1',
    ]);
    procs.push(agent);
    agentId = (await agent.ready(AGENT_READY))[1]!;

    createEntry(`spiffe://${TD}/ns/team-a/sa/web`, 'k8s:ns:team-a', 'k8s:sa:web');
    createEntry(`spiffe://${TD}/ns/team-b/sa/db`, 'k8s:ns:team-b', 'k8s:sa:db');
    createEntry(`spiffe://${TD}/ns/team-a/sa/batch`, 'k8s:ns:team-a', 'k8s:sa:batch');
    createEntry(`spiffe://${TD}/web-by-label`, 'k8s:pod-label:app:web', 'k8s:container-name:web', 'k8s:node-name:node-1');
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const p of procs) process.stderr.write(p.output());
  });

  after(async function () {
    for (const p of procs) await p.kill();
    await kubelet.stop();
    const left = cgroups.cleanup();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(left, [], 'every test cgroup is removed');
  });

  it('a workload in a pod gets the SVIDs of the entries selecting its namespace and service account (and pod label)', async () => {
    const got = await fetchUntilOk('the web pod getting its SVIDs', web);
    // Entries reach the agent one sync at a time: wait for both.
    const both = await poll('both web entries', async () => {
      const r = await fetchIn(web);
      return r.ids?.length === 2 ? r : undefined;
    }, 15_000, () => JSON.stringify(got));
    assert.deepEqual(both.ids?.sort(), [`spiffe://${TD}/ns/team-a/sa/web`, `spiffe://${TD}/web-by-label`]);
  });

  it('a workload in another pod gets only its own SVID', async () => {
    const got = await fetchUntilOk('the db pod getting its SVID', db);
    assert.deepEqual(got.ids, [`spiffe://${TD}/ns/team-b/sa/db`]);
  });

  it('a host process gets nothing from k8s entries', async () => {
    const got = await fetchIn(undefined);
    assert.equal(got.ok, false, JSON.stringify(got));
    assert.equal(got.code, status.PERMISSION_DENIED);
  });

  it('kubelet lag is absorbed: a container listed 1.5 s after it started still gets its SVID on the first call', async () => {
    kubelet.hide(late.containerId, 1_500);
    const requestsBefore = kubelet.requests;
    const got = await fetchIn(late);
    assert.equal(got.ok, true, JSON.stringify(got));
    assert.deepEqual(got.ids, [`spiffe://${TD}/ns/team-a/sa/batch`]);
    assert.ok(kubelet.requests - requestsBefore >= 2, 'the agent asked the kubelet again');
    assert.match(agent.stdout, /container not listed by the kubelet yet; looking again/);
  });

  it('a kubelet answering 401 gives a clear agent-side error; a rotated token file is picked up without a restart', async () => {
    writeFileSync(tokenFile, 'a-token-the-kubelet-does-not-know');
    const refused = await poll('a refusal once the bad token is in use', async () => {
      const r = await fetchIn(db);
      return r.ok ? undefined : r;
    }, 10_000);
    assert.equal(refused.code, status.PERMISSION_DENIED, JSON.stringify(refused));
    assert.match(agent.stdout, /workloadattestor\(k8s\): the kubelet at https:\/\/127\.0\.0\.1:\d+\/pods: 401 Unauthorized: the kubelet did not accept the agent's credentials; check the token in \S+kubelet-token \(kubeletTokenFile\)/);
    writeFileSync(tokenFile, TOKEN);
    const back = await fetchUntilOk('the db pod again after the token is fixed', db);
    assert.deepEqual(back.ids, [`spiffe://${TD}/ns/team-b/sa/db`]);
  });
});
