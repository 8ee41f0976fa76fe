/**
 * The shared pod list: one request in flight for any number of callers, reuse within the TTL, a
 * failure not cached, and the attestor's wait for a container the kubelet lists late.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { K8sWorkloadAttestor } from '../../../../attestors/workload/k8s/k8s.js';
import { PodListCache } from '../../../../attestors/workload/k8s/pod-cache.js';
import { parsePodList, type PodIndex } from '../../../../attestors/workload/k8s/pod-list.js';
import { podJson, randomContainerId, type TestPod } from '../../../support/kubelet.js';

const PEER = { uid: 0, gid: 0 };
const listOf = (pods: TestPod[]): PodIndex => parsePodList(JSON.stringify({ kind: 'PodList', items: pods.map(podJson) }), 'test');

describe('attestors/workload/k8s pod list cache', () => {
  it('gives every concurrent caller the one in-flight request, then reuses it within the TTL', async () => {
    let clock = 0;
    let release: (i: PodIndex) => void = () => undefined;
    let calls = 0;
    const cache = new PodListCache(
      () => {
        calls++;
        return new Promise<PodIndex>((r) => (release = r));
      },
      500,
      () => clock,
    );
    const waiting = Array.from({ length: 100 }, () => cache.get());
    assert.equal(calls, 1);
    release(listOf([]));
    const snaps = await Promise.all(waiting);
    assert.ok(snaps.every((s) => s === snaps[0]));
    clock = 499;
    assert.equal(await cache.get(), snaps[0]);
    assert.equal(calls, 1);
    clock = 500;
    const next = cache.get();
    assert.equal(calls, 2);
    release(listOf([]));
    assert.equal((await next).generation, 2);
  });

  it('newerThan asks again unless a newer list has arrived meanwhile', async () => {
    let calls = 0;
    const cache = new PodListCache(async () => (calls++, listOf([])), 60_000, () => 0);
    const first = await cache.get();
    const [a, b] = await Promise.all([cache.newerThan(first), cache.newerThan(first)]);
    assert.equal(calls, 2);
    assert.equal(a, b);
    assert.equal(await cache.newerThan(first), a);
    assert.equal(calls, 2);
  });

  it('does not cache a failure: every caller of that request sees it, the next asks again', async () => {
    let fail = true;
    const cache = new PodListCache(async () => {
      if (fail) throw new Error('kubelet down');
      return listOf([]);
    }, 60_000);
    await Promise.all([assert.rejects(cache.get(), /kubelet down/), assert.rejects(cache.get(), /kubelet down/)]);
    fail = false;
    assert.equal((await cache.get()).generation, 1);
  });

  describe('the attestor waiting for a container listed late', () => {
    let proc: string;
    const cid = randomContainerId();
    const uid = '7a1b2c3d-0000-4000-8000-000000000001';
    const pod: TestPod = { namespace: 'ns1', name: 'web-0', uid, serviceAccount: 'web', containers: [{ name: 'web', id: cid }] };

    beforeEach(() => {
      proc = mkdtempSync(join(tmpdir(), 'sgk8s-lag-'));
      mkdirSync(join(proc, '1'));
      writeFileSync(join(proc, '1', 'cgroup'), `0::/kubepods/besteffort/pod${uid}/${cid}\n`);
    });
    afterEach(() => rmSync(proc, { recursive: true, force: true }));

    it('finds it on a later fetch, with 100 callers sharing each fetch', async () => {
      let calls = 0;
      const attestor = new K8sWorkloadAttestor(
        { retryTimeoutMs: 10_000, retryIntervalMs: 10, podListCacheMs: 60_000 },
        { procRoot: proc, env: {}, fetchPods: async () => (++calls <= 3 ? listOf([]) : listOf([pod])) },
      );
      const results = await Promise.all(Array.from({ length: 100 }, () => attestor.attest(1, PEER)));
      for (const r of results) assert.ok(r.some((s) => s.value === 'sa:web') && r.some((s) => s.value === 'ns:ns1'));
      assert.equal(calls, 4);
    });

    it('asks again at once when the cached list predates the call', async () => {
      let calls = 0;
      const attestor = new K8sWorkloadAttestor(
        { retryTimeoutMs: 0, podListCacheMs: 60_000 },
        { procRoot: proc, env: {}, fetchPods: async () => (++calls === 1 ? listOf([]) : listOf([pod])) },
      );
      await attestor.pods.get();
      assert.ok((await attestor.attest(1, PEER)).length > 0);
      assert.equal(calls, 2);
    });
  });
});
