/**
 * The kubelet client against a real HTTPS server that authenticates as the kubelet does: a bearer
 * token (re-read when the file changes), a client certificate, the serving certificate verified
 * against the configured CA or not at all (with a warning), the read-only HTTP port, and one
 * request for many concurrent callers while the kubelet is slow to answer.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { K8sAttestorConfig } from '../../../attestors/workload/k8s/config.js';
import { K8sWorkloadAttestor, type AttestorLogger } from '../../../attestors/workload/k8s/k8s.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../../../attestors/workload/workload-attestor.js';
import { keyPem, leafFor, pem, randomContainerId, testCa, TestKubelet, type TestPod } from '../../support/kubelet.js';

const POD: TestPod = { namespace: 'default', name: 'p', serviceAccount: 'sa1', containers: [{ name: 'c', id: randomContainerId() }] };

class Warnings implements AttestorLogger {
  readonly lines: string[] = [];
  warn(_fields: object, message: string): void {
    this.lines.push(message);
  }
  debug(): void {}
}

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
    const log = new Warnings();
    const a = attestor({ kubeletUrl: k.url, skipKubeletVerification: true, kubeletTokenFile: file('t', 't') }, log);
    assert.equal((await a.pods.get()).index.podCount, 1);
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0]!, /skipKubeletVerification is set: the kubelet's serving certificate is not verified/);
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

  it('defaults to https://$MY_NODE_NAME:10250 with the service-account token and CA', () => {
    const a = new K8sWorkloadAttestor({}, { env: { MY_NODE_NAME: 'node-7' } });
    assert.equal(a.config.url.href, 'https://node-7:10250/');
    assert.deepEqual(a.config.auth, { kind: 'token', tokenFile: '/var/run/secrets/kubernetes.io/serviceaccount/token' });
    assert.equal(a.config.caFile, '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt');
    assert.equal(new K8sWorkloadAttestor({ nodeName: 'n2' }, { env: { MY_NODE_NAME: 'node-7' } }).config.url.hostname, 'n2');
    assert.equal(new K8sWorkloadAttestor({}, { env: {} }).config.url.hostname, '127.0.0.1');
  });
});
