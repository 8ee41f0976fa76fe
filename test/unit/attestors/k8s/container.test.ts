/**
 * Container identification on every /proc/<pid>/cgroup sample in shared/testdata/cgroups, against
 * the pod UID and container ID (or error, or nothing) INDEX.tsv gives for it; then the mountinfo
 * fallback and its order on prepared /proc trees.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupPaths, containerOfPath, containerOfPaths, locateContainer, mountinfoCgroupRoots } from '../../../../attestors/workload/k8s/container.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../../../../attestors/workload/workload-attestor.js';
import { Status } from '../../../../spiffe/errors.js';
import { readShared } from '../../../support/shared.js';

interface Sample {
  file: string;
  format: string;
  podUid: string | undefined;
  expected: string;
}

function samples(): Sample[] {
  const [header, ...rows] = readShared('testdata', 'cgroups', 'INDEX.tsv').toString('utf8').trim().split('\n');
  assert.equal(header?.split('\t').slice(0, 4).join(' '), 'file format expected_pod_uid expected_container_id');
  return rows.map((r) => {
    const [file, format, pod, expected] = r.split('\t') as [string, string, string, string];
    return { file, format, podUid: pod === '-' ? undefined : pod, expected };
  });
}

const CID_A = 'a'.repeat(64);
const CID_B = 'b'.repeat(64);
const POD = '2c48913c-b29f-11e7-9350-020968147796';

describe('attestors/workload/k8s container identification', () => {
  const all = samples();

  it('covers every sample file in the directory', () => {
    assert.equal(all.length, 25);
  });

  for (const s of all) {
    it(`${s.file}: ${s.format}`, () => {
      const text = readShared('testdata', 'cgroups', s.file).toString('utf8');
      const locate = () => containerOfPaths(cgroupPaths(text), s.file);
      if (s.expected.startsWith('ERROR ')) {
        const what = s.expected.slice('ERROR '.length);
        assert.throws(locate, (err: unknown) => {
          assert.ok(err instanceof WorkloadAttestorError);
          assert.equal(err.code, WorkloadAttestorErrorCode.ambiguous);
          assert.equal(err.status, Status.FAILED_PRECONDITION);
          assert.match(err.message, new RegExp(`^workloadattestor\\(k8s\\): ${s.file} names ${what} \\(`));
          return true;
        });
        return;
      }
      const got = locate();
      if (s.expected === '(none)') {
        assert.equal(got, undefined);
        return;
      }
      assert.deepEqual(got, s.podUid === undefined ? { containerId: s.expected } : { containerId: s.expected, podUid: s.podUid });
    });
  }

  it('names both IDs when two pods or two containers are claimed', () => {
    assert.throws(() => containerOfPaths([`/kubepods/pod${POD}/${CID_A}`, `/kubepods/pod${POD}/${CID_B}`], 'f'), new RegExp(`${CID_A}, ${CID_B}`));
  });

  it('reads a path segment by segment: the last container ID, a pod UID at or before it', () => {
    assert.deepEqual(containerOfPath(`/x/pod${POD}/y/${CID_A}/z`), { containerId: CID_A, podUid: POD });
    assert.deepEqual(containerOfPath(`/pod${POD.replaceAll('-', '_')}.slice:cri-containerd:${CID_A}`), { containerId: CID_A, podUid: POD });
    assert.equal(containerOfPath(`/kubepods/pod${POD}`), undefined);
    // 65 hex digits are not a container ID, nor is one glued to other word characters.
    assert.equal(containerOfPath(`/docker/${CID_A}a`), undefined);
    assert.equal(containerOfPath(`/docker/x${CID_A}`), undefined);
    assert.deepEqual(containerOfPath(`/kubepods/${CID_A}`), { containerId: CID_A });
  });

  it('splits cgroup lines at the first two colons only', () => {
    assert.deepEqual(cgroupPaths(`1:name=systemd:/a.slice:cri-containerd:${CID_A}\n0::/\n\n`), [`/a.slice:cri-containerd:${CID_A}`, '/']);
  });

  describe('on a /proc tree', () => {
    let proc: string;
    const write = (pid: number, name: string, text: string): void => {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), name), text);
    };
    const mountLine = (root: string, fs: string): string =>
      `35 24 0:30 ${root} /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime shared:9 - ${fs} ${fs} rw`;

    beforeEach(() => {
      proc = mkdtempSync(join(tmpdir(), 'sgk8s-proc-'));
    });
    afterEach(() => rmSync(proc, { recursive: true, force: true }));

    it('falls back to the cgroup mount roots of mountinfo when the cgroup file says 0::/', () => {
      write(7, 'cgroup', '0::/\n');
      const root = `/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${POD.replaceAll('-', '_')}.slice/cri-containerd-${CID_A}.scope`;
      write(7, 'mountinfo', [mountLine('/', 'ext4'), mountLine('/', 'cgroup2'), mountLine(root, 'cgroup2')].join('\n') + '\n');
      assert.deepEqual(locateContainer(proc, 7), { containerId: CID_A, podUid: POD });
    });

    it('believes the cgroup file over mountinfo, which the workload can shape with bind mounts', () => {
      write(8, 'cgroup', `0::/kubepods/pod${POD}/${CID_A}\n`);
      write(8, 'mountinfo', mountLine(`/kubepods/pod${POD}/${CID_B}`, 'cgroup') + '\n');
      assert.deepEqual(locateContainer(proc, 8), { containerId: CID_A, podUid: POD });
    });

    it('does not let the mounts of a process in a non-container cgroup make it a container', () => {
      write(10, 'cgroup', '1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n0::/user.slice/user-1000.slice/session-2.scope\n');
      write(10, 'mountinfo', mountLine(`/kubepods/pod${POD}/${CID_B}`, 'cgroup2') + '\n');
      assert.equal(locateContainer(proc, 10), undefined);
    });

    it('finds nothing for a host process, with or without a mountinfo file', () => {
      write(9, 'cgroup', readShared('testdata', 'cgroups', 'v1-host-process-not-in-pod.cgroup').toString('utf8'));
      assert.equal(locateContainer(proc, 9), undefined);
      write(9, 'mountinfo', mountLine('/', 'cgroup') + '\n' + mountLine('/', 'cgroup2') + '\n');
      assert.equal(locateContainer(proc, 9), undefined);
    });

    it('says which file it could not read for a process that is gone', () => {
      assert.throws(() => locateContainer(proc, 12345), (err: unknown) => {
        assert.ok(err instanceof WorkloadAttestorError);
        assert.equal(err.code, WorkloadAttestorErrorCode.unavailable);
        assert.match(err.message, /cannot read .*\/12345\/cgroup: /);
        return true;
      });
    });

    it('unescapes octal escapes in mount roots', () => {
      assert.deepEqual(mountinfoCgroupRoots(mountLine('/a\\040b', 'cgroup') + '\n'), ['/a b']);
    });
  });
});
