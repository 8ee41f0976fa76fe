/**
 * The k8s attestor end to end on SPIRE's data: for every case of shared/testdata/kubelet/
 * expected-selectors.json, a prepared /proc/<pid>/cgroup from its cgroup sample and its pod list
 * as the kubelet's answer give exactly SPIRE's selectors; the duplicate and not-running cases fail
 * as SPIRE's do; a host process gets nothing without asking the kubelet.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K8sWorkloadAttestor } from '../../../../attestors/workload/k8s/k8s.js';
import { parsePodList } from '../../../../attestors/workload/k8s/pod-list.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../../../../attestors/workload/workload-attestor.js';
import { Status } from '../../../../spiffe/errors.js';
import { readShared, readSharedJson } from '../../../support/shared.js';

interface Case {
  cgroup_sample: string;
  pod_list: string;
  selectors: string[];
}
type Expected = Record<string, Case> & { testPodSelectors: Case; testContainerSelectors: Case };

const PEER = { uid: 0, gid: 0 };
const sorted = (s: { type: string; value: string }[]): string[] => s.map((x) => `${x.type}:${x.value}`).sort();

describe('attestors/workload/k8s selectors (SPIRE testdata)', () => {
  const expected = readSharedJson<Expected>('testdata', 'kubelet', 'expected-selectors.json');
  let proc: string;
  let fetches: number;
  let nextPid = 100;

  /** An attestor whose "kubelet" answers `podList` and whose /proc/<pid>/cgroup is `sample`. */
  const setup = (sample: string, podList: string, retryTimeoutMs = 0): { attestor: K8sWorkloadAttestor; pid: number } => {
    const pid = nextPid++;
    mkdirSync(join(proc, String(pid)));
    writeFileSync(join(proc, String(pid), 'cgroup'), readShared('testdata', 'cgroups', sample));
    const body = readShared('testdata', 'kubelet', podList).toString('utf8');
    const attestor = new K8sWorkloadAttestor(
      { retryTimeoutMs, retryIntervalMs: 5 },
      {
        procRoot: proc,
        env: {},
        fetchPods: async () => {
          fetches++;
          return parsePodList(body, podList);
        },
      },
    );
    return { attestor, pid };
  };

  beforeEach(() => {
    proc = mkdtempSync(join(tmpdir(), 'sgk8s-sel-'));
    fetches = 0;
  });
  afterEach(() => rmSync(proc, { recursive: true, force: true }));

  const cases: [string, string, string, string[]][] = [];
  for (const [name, c] of Object.entries(expected)) {
    if (name.startsWith('_') || !Array.isArray(c.selectors) || name === 'testPodSelectors' || name === 'testContainerSelectors') continue;
    for (const sample of c.cgroup_sample.split(' | ')) cases.push([name, sample, c.pod_list, c.selectors]);
  }
  // SPIRE's pod-level set plus its container-level set, for the blog pod's container.
  for (const sample of ['v1-cgroupfs-k8s-docker.cgroup', 'v1-systemd-k8s-docker.cgroup']) {
    cases.push(['testPodSelectors + testContainerSelectors', sample, 'pod_list.json', [...expected.testPodSelectors.selectors, ...expected.testContainerSelectors.selectors]]);
  }

  it('has a case for every pod list with expected selectors', () => {
    assert.deepEqual([...new Set(cases.map((c) => c[2]))].sort(), ['crio_pod_list.json', 'kind_pod_list.json', 'pod_list.json']);
    assert.equal(cases.length, 6);
  });

  for (const [name, sample, podList, want] of cases) {
    it(`${name}: ${sample} with ${podList}`, async () => {
      const { attestor, pid } = setup(sample, podList);
      assert.deepEqual(sorted(await attestor.attest(pid, PEER)), [...want].sort());
      assert.equal(fetches, 1);
    });
  }

  it('refuses a container ID two pods claim (crio_pod_list_duplicate_containerId.json), naming both pods', async () => {
    const { attestor, pid } = setup('v2-crio-cgroupns-relative.cgroup', 'crio_pod_list_duplicate_containerId.json');
    await assert.rejects(attestor.attest(pid, PEER), (err: unknown) => {
      assert.ok(err instanceof WorkloadAttestorError);
      assert.equal(err.code, WorkloadAttestorErrorCode.ambiguous);
      assert.equal(err.status, Status.FAILED_PRECONDITION);
      assert.match(err.message, /two pods found with the same container ID 09bc3d7a\w+: sfh-199\/sample-workload-6658cb9566-5n4b4 \(uid a2830d0d-[\w-]+\), sfh-199\/sample-workload-6658cb9566-5n4b4 \(uid 72631393-[\w-]+\)/);
      return true;
    });
  });

  it('with the pod UID from the cgroup path, only that pod counts (no duplicate then)', async () => {
    const { attestor, pid } = setup('v1-systemd-k8s-crio.cgroup', 'crio_pod_list_duplicate_containerId.json');
    assert.deepEqual(sorted(await attestor.attest(pid, PEER)), [...expected['testCrioPodSelectors']!.selectors].sort());
  });

  it('a container the kubelet lists without an ID (pod_list_not_running.json) is looked for until retryTimeoutMs, then refused', async () => {
    const { attestor, pid } = setup('v1-cgroupfs-k8s-docker.cgroup', 'pod_list_not_running.json', 60);
    await assert.rejects(attestor.attest(pid, PEER), (err: unknown) => {
      assert.ok(err instanceof WorkloadAttestorError);
      assert.equal(err.code, WorkloadAttestorErrorCode.notFound);
      assert.equal(err.status, Status.DEADLINE_EXCEEDED);
      assert.match(err.message, new RegExp(`container 9bca8d63\\w+ in pod 2c48913c-b29f-11e7-9350-020968147796 of pid ${pid} is not in the kubelet's pod list after \\d+ looks over 60 ms \\(retryTimeoutMs\\)`));
      return true;
    });
    // Doubling from 5 ms within 60 ms: a handful of fetches, not a busy loop.
    assert.ok(fetches >= 2 && fetches <= 6, `fetches: ${fetches}`);
  });

  it('a host process has no k8s selectors, and the kubelet is not asked', async () => {
    const { attestor, pid } = setup('v1-host-process-not-in-pod.cgroup', 'pod_list.json');
    assert.deepEqual(await attestor.attest(pid, PEER), []);
    assert.equal(fetches, 0);
  });

  it('keeps only selector values: the index of pod_list.json holds its 4 pods and 6 started containers', () => {
    const index = parsePodList(readShared('testdata', 'kubelet', 'pod_list.json').toString('utf8'), 'pod_list.json');
    assert.equal(index.podCount, 4);
    assert.equal(index.containerCount, 6);
    assert.equal(index.find('9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961', '11111111-1111-1111-1111-111111111111'), undefined);
  });

  it('says what was wrong with an answer that is not a pod list', () => {
    assert.throws(() => parsePodList('<html>', 'the kubelet'), /the kubelet answered with something that is not JSON/);
    assert.throws(() => parsePodList('{"kind":"Status"}', 'the kubelet'), /the kubelet answered JSON that is not a pod list \(no items array\)/);
  });
});
