/**
 * The tests' kubelet-style cgroups clean up after a failed test too: a workload still running in
 * one (its test threw or timed out) is killed before the directories go, so no cgroup outlives
 * the run. Needs root and a writable hierarchy, like the end-to-end test that relies on it.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { CgroupSandbox, cgroupsUnavailable } from '../../support/cgroups.js';
import { randomContainerId } from '../../support/kubelet.js';

describe('test support: kubelet-style cgroup sandbox', function () {
  const why = cgroupsUnavailable();
  if (why !== undefined) {
    it.skip(why);
    return;
  }

  it('kills a workload left running in its cgroups, then removes every directory', async () => {
    const sandbox = new CgroupSandbox();
    const c = { podUid: randomUUID(), containerId: randomContainerId() };
    const dirs = sandbox.dirsFor(c);
    const child = sandbox.spawnIn(c, ['sleep', '300']);
    try {
      // The shell has moved itself in once its PID is listed in every cgroup.procs.
      for (;;) {
        assert.equal(child.exitCode, null, 'the shell moving itself into the cgroups exited early');
        if (dirs.every((d) => readFileSync(`${d}/cgroup.procs`, 'utf8').split('\n').includes(String(child.pid)))) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.match(readFileSync(`/proc/${child.pid}/cgroup`, 'utf8'), new RegExp(c.containerId));
    } finally {
      assert.deepEqual(await sandbox.cleanup(), []);
    }
    assert.ok(child.exitCode !== null || child.signalCode !== null, 'the workload is gone');
    for (const d of dirs) assert.equal(existsSync(d), false, `${d} is removed`);
  });
});
