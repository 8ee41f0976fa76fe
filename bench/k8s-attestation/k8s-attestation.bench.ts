/**
 * k8s workload attestation latency, beside the unix attestor on the same process as the baseline
 * (what every Workload API call already pays): one caller at a time with a warm pod list, 100
 * callers at once with a warm pod list, and a cold list (every call fetches and indexes the ~1 MiB
 * list over HTTPS), which is what the shared cache saves. The kubelet is the tests' HTTPS kubelet
 * with 110 pods (the kubelet's default max) padded to a real list's size; /proc/<pid>/cgroup files
 * are prepared ones, so no root is needed. Then the heap the index keeps against the list's size.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { K8sWorkloadAttestor } from '../../attestors/workload/k8s/k8s.js';
import { parsePodList, type PodIndex } from '../../attestors/workload/k8s/pod-list.js';
import { UnixWorkloadAttestor } from '../../attestors/workload/unix/unix.js';
import type { WorkloadAttestor } from '../../attestors/workload/workload-attestor.js';
import { pem, randomContainerId, TestKubelet, type TestPod } from '../../test/support/kubelet.js';
import { measure, report } from '../lib/harness.js';
import { reportLatency, summarize } from '../lib/latency.js';

const PODS = 110;
const CONCURRENT = 100;
const ROUNDS = 30;
const PEER = { uid: 0, gid: 0 };

async function latencies(attestor: WorkloadAttestor, pids: readonly number[], rounds: number): Promise<number[]> {
  const out: number[] = [];
  for (let r = 0; r < rounds; r++) {
    await Promise.all(
      pids.map(async (pid) => {
        const t0 = performance.now();
        await attestor.attest(pid, PEER);
        out.push(performance.now() - t0);
      }),
    );
  }
  return out;
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

const dir = mkdtempSync(join(tmpdir(), 'sgbench-k8s-'));
const kubelet = new TestKubelet({ tokens: new Set(['bench']) });
try {
  const pods: TestPod[] = Array.from({ length: PODS }, (_, i) => ({
    namespace: `ns-${i % 7}`,
    name: `app-${i}`,
    uid: randomUUID(),
    serviceAccount: `sa-${i % 13}`,
    labels: { app: `app-${i}`, tier: 'web', 'pod-template-hash': '6658cb9566' },
    owner: { kind: 'ReplicaSet', name: `app-${i}-6658cb9566`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` },
    containers: [{ name: 'main', id: randomContainerId() }, { name: 'sidecar', id: randomContainerId() }],
    padding: 9_000,
  }));
  kubelet.pods = pods;
  await kubelet.start();
  const listBytes = Buffer.byteLength(kubelet.body());

  // One fake /proc/<pid>/cgroup per caller, each a container of a different pod.
  const proc = join(dir, 'proc');
  const pids = Array.from({ length: CONCURRENT }, (_, i) => {
    const pid = 1000 + i;
    const p = pods[i % PODS]!;
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${p.uid!.replaceAll('-', '_')}.slice/cri-containerd-${p.containers[0]!.id!}.scope\n`);
    return pid;
  });

  const caFile = join(dir, 'ca.pem');
  const tokenFile = join(dir, 'token');
  writeFileSync(caFile, pem(kubelet.ca));
  writeFileSync(tokenFile, 'bench');
  const kubeletConfig = { kubeletUrl: kubelet.url, kubeletCa: caFile, kubeletTokenFile: tokenFile };
  const warm = new K8sWorkloadAttestor({ ...kubeletConfig, podListCacheMs: 3_600_000 }, { procRoot: proc, env: {} });
  const cold = new K8sWorkloadAttestor({ ...kubeletConfig, podListCacheMs: 0 }, { procRoot: proc, env: {} });
  const unix = new UnixWorkloadAttestor();
  const self = Array.from({ length: CONCURRENT }, () => process.pid);

  const first = await warm.attest(pids[0]!, PEER);
  if (!first.some((s) => s.value === 'container-name:main')) throw new Error(`bench setup: no container selectors in ${JSON.stringify(first)}`);

  const baseline1 = summarize('unix, 1 caller', await latencies(unix, [process.pid], 2_000));
  const warm1 = summarize('k8s warm list, 1 caller', await latencies(warm, [pids[0]!], 2_000));
  const baseline100 = summarize(`unix, ${CONCURRENT} at once`, await latencies(unix, self, ROUNDS));
  const warm100 = summarize(`k8s warm list, ${CONCURRENT} at once`, await latencies(warm, pids, ROUNDS));
  const fetchesBefore = kubelet.requests;
  const cold100 = summarize(`k8s cold list, ${CONCURRENT} at once`, await latencies(cold, pids, 5));
  const coldFetches = kubelet.requests - fetchesBefore;
  const cold1 = summarize('k8s cold list, 1 caller', await latencies(cold, [pids[0]!], 30));

  reportLatency(
    `k8s attestation latency (${PODS} pods, pod list ${(listBytes / 1024).toFixed(0)} KiB over HTTPS with a token)`,
    [
      { baseline: baseline1, measured: warm1 },
      { baseline: baseline100, measured: warm100 },
      { baseline: baseline100, measured: cold100 },
      { baseline: baseline1, measured: cold1 },
    ],
    [`cold, ${CONCURRENT} at once: ${coldFetches} kubelet requests for ${5 * CONCURRENT} attestations (one shared request per round)`],
  );

  const rateBase = await measure('unix attest', () => unix.attest(process.pid, PEER));
  const rateWarm = await measure('k8s attest, warm list', () => warm.attest(pids[0]!, PEER));
  const rateWarm100 = await measure(`k8s attest, warm list, ${CONCURRENT} at once`, () => Promise.all(pids.map((p) => warm.attest(p, PEER))), {
    opsPerCall: CONCURRENT,
  });
  report('k8s attestation throughput', rateBase, [rateWarm, rateWarm100]);

  // What a list costs to keep: the heap the index holds, against the JSON it came from.
  const body = kubelet.body();
  const before = heapAfterGc();
  const kept: PodIndex[] = [];
  for (let i = 0; i < 10; i++) kept.push(parsePodList(body, 'bench'));
  const perIndex = (heapAfterGc() - before) / kept.length;
  process.stdout.write(
    `\npod list retained: ${(perIndex / 1024).toFixed(0)} KiB of heap per index (${kept[0]!.podCount} pods, ${kept[0]!.containerCount} containers) for a ${(listBytes / 1024).toFixed(0)} KiB list (${((perIndex / listBytes) * 100).toFixed(1)}% of its size)\n`,
  );
  warm.close();
  cold.close();
} finally {
  await kubelet.stop();
  rmSync(dir, { recursive: true, force: true });
}
