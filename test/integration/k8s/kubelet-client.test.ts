/**
 * The kubelet client against a real HTTPS server that authenticates as the kubelet does: a bearer
 * token (re-read when the file changes), a client certificate, the serving certificate verified
 * against the configured CA or not at all (with a warning), the read-only HTTP port, and one
 * request for many concurrent callers while the kubelet is slow to answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../agent/logger.js';
import type { K8sAttestorConfig } from '../../../attestors/workload/k8s/config.js';
import { K8sWorkloadAttestor, type AttestorLogger } from '../../../attestors/workload/k8s/k8s.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../../../attestors/workload/workload-attestor.js';
import { keyPem, leafFor, pem, randomContainerId, testCa, TestKubelet, type TestPod } from '../../support/kubelet.js';
import { RecordingLogger } from '../agent/harness.js';

const POD: TestPod = { namespace: 'default', name: 'p', serviceAccount: 'sa1', containers: [{ name: 'c', id: randomContainerId() }] };

describe('attestors/workload/k8s kubelet client (real HTTPS server)', function () {
  this.timeout(20_000);
  let dir: string;
  const kubelets: TestKubelet[] = [];
  const attestors: K8sWorkloadAttestor[] = [];
  const clientCa = testCa('kubelet-client-ca');

  const file = (name: string, content: string): string => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };
  const kubelet = async (options: ConstructorParameters<typeof TestKubelet>[0] = {}): Promise<TestKubelet> => {
    const k = new TestKubelet(options);
    kubelets.push(k);
    await k.start();
    k.pods = [POD];
    return k;
  };
  const attestor = (config: K8sAttestorConfig, logger?: AttestorLogger): K8sWorkloadAttestor => {
    const a = new K8sWorkloadAttestor({ podListCacheMs: 0, ...config }, { env: {}, logger });
    attestors.push(a);
    return a;
  };
  const rejectsWith = (p: Promise<unknown>, re: RegExp): Promise<void> =>
    assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof WorkloadAttestorError, String(err));
      assert.equal(err.code, WorkloadAttestorErrorCode.unavailable);
      assert.match(err.message, re);
      return true;
    });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sgk8s-kubelet-'));
  });
  after(async () => {
    for (const a of attestors) a.close();
    for (const k of kubelets) await k.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates with the token file, and reads it again when it is rotated', async () => {
    const k = await kubelet({ tokens: new Set(['token-1']) });
    const tokenFile = file('token', 'token-1\n');
    const a = attestor({ kubeletUrl: k.url, kubeletCa: file('ca.pem', pem(k.ca)), kubeletTokenFile: tokenFile });
    assert.equal((await a.pods.get()).index.podCount, 1);
    k.tokens.clear();
    k.tokens.add('token-2');
    await rejectsWith(a.pods.get(), /^workloadattestor\(k8s\): the kubelet at https:\/\/127\.0\.0\.1:\d+\/pods: 401 Unauthorized: the kubelet did not accept the agent's credentials; check the token in .*token \(kubeletTokenFile\)/);
    writeFileSync(tokenFile, 'token-2');
    assert.equal((await a.pods.get()).index.podCount, 1);
  });

  it('authenticates with a client certificate; one from another CA gets 401', async () => {
    const k = await kubelet({ clientCa });
    const ca = file('ca2.pem', pem(k.ca));
    const good = leafFor(clientCa, 'system:node-agent', 'client');
    const a = attestor({ kubeletUrl: k.url, kubeletCa: ca, kubeletClientCert: file('c.pem', pem(good)), kubeletClientKey: file('c.key', keyPem(good)) });
    assert.equal((await a.pods.get()).index.podCount, 1);
    const stranger = leafFor(testCa('other'), 'x', 'client');
    const b = attestor({ kubeletUrl: k.url, kubeletCa: ca, kubeletClientCert: file('s.pem', pem(stranger)), kubeletClientKey: file('s.key', keyPem(stranger)) });
    await rejectsWith(b.pods.get(), /401 Unauthorized: .*check that the kubelet's client CA signed .*s\.pem/);
  });

  it('refuses a serving certificate the CA did not sign, saying which setting decides', async () => {
    const k = await kubelet({ tokens: new Set(['t']) });
    const a = attestor({ kubeletUrl: k.url, kubeletCa: file('wrong-ca.pem', pem(testCa('not-the-kubelet-ca'))), kubeletTokenFile: file('t', 't') });
    await rejectsWith(a.pods.get(), /its serving certificate did not verify \(.*\): set kubeletCa \(--kubelet-ca\) to the CA that signed it, or skipKubeletVerification/);
  });

  it('with skipKubeletVerification accepts any serving certificate, and warns once at start', async () => {
    const k = await kubelet({ tokens: new Set(['t']) });
    const log = new RecordingLogger();
    // Typed as the agent's logger, which is what the agent hands the attestor.
    const agentLogger: Logger = log;
    const a = attestor({ kubeletUrl: k.url, skipKubeletVerification: true, kubeletTokenFile: file('t', 't') }, agentLogger);
    assert.equal((await a.pods.get()).index.podCount, 1);
    const warnings = log.messages('warn');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /skipKubeletVerification is set: the kubelet's serving certificate is not verified/);
  });

  it('reads the read-only port over plain HTTP without credentials', async () => {
    const k = await kubelet({ readOnly: true });
    const a = attestor({ kubeletUrl: k.url });
    assert.match(k.url, /^http:/);
    assert.equal((await a.pods.get()).index.podCount, 1);
  });

  it('a missing token file is named, with its setting', async () => {
    const k = await kubelet({ tokens: new Set(['t']) });
    const a = attestor({ kubeletUrl: k.url, kubeletCa: file('ca3.pem', pem(k.ca)), kubeletTokenFile: join(dir, 'absent') });
    await rejectsWith(a.pods.get(), /cannot read the kubelet token file \(kubeletTokenFile, --kubelet-token-file\) .*absent: ENOENT/);
  });

  it('sends one request for 50 concurrent callers while the kubelet is slow', async () => {
    const k = await kubelet({ tokens: new Set(['t']) });
    k.delayMs = 300;
    const a = new K8sWorkloadAttestor({ kubeletUrl: k.url, kubeletCa: file('ca4.pem', pem(k.ca)), kubeletTokenFile: file('t', 't') }, { env: {} });
    attestors.push(a);
    const snaps = await Promise.all(Array.from({ length: 50 }, () => a.pods.get()));
    assert.ok(snaps.every((s) => s === snaps[0]));
    assert.equal(k.requests, 1);
  });

  describe('a kubelet that misbehaves', () => {
    // Long enough for a loaded machine's TLS handshake and a good answer (recovers() uses it too).
    const LIMITS = { timeoutMs: 1_000, maxBytes: 4096 };
    const misbehaving = async (respond: (res: ServerResponse) => void): Promise<{ k: TestKubelet; a: K8sWorkloadAttestor }> => {
      const k = await kubelet({ tokens: new Set(['t']) });
      k.respond = respond;
      const a = new K8sWorkloadAttestor(
        { kubeletUrl: k.url, kubeletCa: file(`ca-${k.url.split(':').pop()}.pem`, pem(k.ca)), kubeletTokenFile: file('t', 't'), podListCacheMs: 0 },
        { env: {}, kubeletLimits: LIMITS },
      );
      attestors.push(a);
      return { k, a };
    };
    /** After the failure the next fetch is a fresh request that works: nothing stays stuck or poisoned. */
    const recovers = async (k: TestKubelet, a: K8sWorkloadAttestor): Promise<void> => {
      k.respond = undefined;
      assert.equal((await a.pods.get()).index.podCount, 1);
    };

    it('trickling bytes: every waiting caller is answered at the deadline, then the next request works', async () => {
      const timers = new Set<NodeJS.Timeout>();
      const { k, a } = await misbehaving((res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"items":[');
        const t = setInterval(() => res.write(' '), 20);
        timers.add(t);
        res.on('close', () => clearInterval(t));
      });
      try {
        const callers = Array.from({ length: 5 }, () => rejectsWith(a.pods.get(), new RegExp(`/pods: no (complete )?answer within ${LIMITS.timeoutMs} ms$`)));
        await Promise.all(callers);
        assert.equal(k.requests, 1);
        await recovers(k, a);
      } finally {
        for (const t of timers) clearInterval(t);
      }
    });

    it('silent after accepting: refused at the deadline', async () => {
      const { k, a } = await misbehaving(() => undefined);
      await rejectsWith(a.pods.get(), new RegExp(`no (complete )?answer within ${LIMITS.timeoutMs} ms$`));
      await recovers(k, a);
    });

    it('a body over the cap is refused without buffering it', async () => {
      const { k, a } = await misbehaving((res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ items: [], pad: 'x'.repeat(LIMITS.maxBytes * 4) }));
      });
      await rejectsWith(a.pods.get(), new RegExp(`the pod list is over ${LIMITS.maxBytes} bytes; refusing to buffer it`));
      await recovers(k, a);
    });

    it('garbage, a non-200 answer, or a connection cut mid-body: each named, none hangs', async () => {
      const { k, a } = await misbehaving((res) => res.writeHead(200).end('<html>oops</html>'));
      await rejectsWith(a.pods.get(), /answered with something that is not JSON/);
      k.respond = (res) => res.writeHead(500, 'Internal Server Error').end('boom');
      await rejectsWith(a.pods.get(), /\/pods: answered 500 Internal Server Error$/);
      k.respond = (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
        res.write('{"items":[', () => res.destroy());
      };
      await rejectsWith(a.pods.get(), /\/pods: (reading the answer failed|request failed): /);
      await recovers(k, a);
    });

    it('an error answer with an endless body: refused at once, and its connection closed rather than drained', async () => {
      let closed: () => void = () => undefined;
      const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
      const { k, a } = await misbehaving((res) => {
        res.writeHead(503, 'Service Unavailable');
        const t = setInterval(() => res.write('x'.repeat(1024)), 5);
        res.on('close', () => {
          clearInterval(t);
          closed();
        });
      });
      await rejectsWith(a.pods.get(), /\/pods: answered 503 Service Unavailable$/);
      await connectionClosed;
      await recovers(k, a);
    });

    it('an empty token file (caught mid-rotation) is named rather than sent', async () => {
      const { a } = await misbehaving(() => undefined);
      writeFileSync(join(dir, 't'), '\n');
      try {
        await rejectsWith(a.pods.get(), /the kubelet token file \(kubeletTokenFile, --kubelet-token-file\) \S+\/t is empty$/);
      } finally {
        writeFileSync(join(dir, 't'), 't');
      }
    });
  });

  it('defaults to https://$MY_NODE_NAME:10250 with the service-account token and CA', () => {
    const a = new K8sWorkloadAttestor({}, { env: { MY_NODE_NAME: 'node-7' } });
    assert.equal(a.config.url.href, 'https://node-7:10250/');
    assert.deepEqual(a.config.auth, { kind: 'token', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    assert.equal(a.config.caFile, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
    assert.equal(new K8sWorkloadAttestor({ nodeName: 'n2' }, { env: { MY_NODE_NAME: 'node-7' } }).config.url.hostname, 'n2');
    assert.equal(new K8sWorkloadAttestor({}, { env: {} }).config.url.hostname, '127.0.0.1');
  });
});
