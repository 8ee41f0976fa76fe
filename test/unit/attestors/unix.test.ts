/**
 * The unix workload attestor on prepared /proc, passwd and group files (every selector, names only
 * when listed, files re-read when they change, failures as WorkloadAttestorErrors, path and hash
 * only when configured, the size limit, the digest cache), and once on this very process.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUILTIN_WORKLOAD_ATTESTOR_TYPES, isBuiltinWorkloadAttestorType, UNIX } from '../../../attestors/workload/builtins.js';
import { parseAccounts } from '../../../attestors/workload/unix/accounts.js';
import { DigestCache } from '../../../attestors/workload/unix/binary.js';
import { parseStatus } from '../../../attestors/workload/unix/proc-status.js';
import { UnixWorkloadAttestor } from '../../../attestors/workload/unix/unix.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../../../attestors/workload/workload-attestor.js';
import { createBuiltinWorkloadAttestors } from '../../../agent/workloadapi/index.js';
import { Status } from '../../../spiffe/errors.js';

const PEER = { uid: 0, gid: 0 };
const values = (selectors: { type: string; value: string }[]): string[] => {
  assert.ok(selectors.every((s) => s.type === 'unix'));
  return selectors.map((s) => s.value);
};

function status(uid: [number, number, number, number], gid: [number, number, number, number], groups: number[]): string {
  return [
    'Name:\tworker (x)',
    'State:\tS (sleeping)',
    `Uid:\t${uid.join('\t')}`,
    `Gid:\t${gid.join('\t')}`,
    'FDSize:\t64',
    `Groups:\t${groups.join(' ')}${groups.length ? ' ' : ''}`,
    'NStgid:\t42',
  ].join('\n');
}

describe('attestors/workload/unix', () => {
  let dir: string;
  let files: { procRoot: string; passwdFile: string; groupFile: string };
  const proc = (pid: number, text: string): void => {
    mkdirSync(join(files.procRoot, String(pid)), { recursive: true });
    writeFileSync(join(files.procRoot, String(pid), 'status'), text);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-unix-'));
    files = { procRoot: join(dir, 'proc'), passwdFile: join(dir, 'passwd'), groupFile: join(dir, 'group') };
    writeFileSync(files.passwdFile, '# users\nroot:x:0:0:root:/root:/bin/bash\nweb:x:1000:1000::/home/web:/bin/sh\nweb-alias:x:1000:1000::/:/bin/sh\n+nis\n');
    writeFileSync(files.groupFile, 'root:x:0:\nweb:x:1000:\nstaff:x:50:web\naudio:x:29:\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names its type from builtins, and the agent builds it from configuration', () => {
    assert.deepEqual([...BUILTIN_WORKLOAD_ATTESTOR_TYPES], ['unix', 'k8s']);
    assert.equal(isBuiltinWorkloadAttestorType('unix'), true);
    assert.equal(isBuiltinWorkloadAttestorType('docker'), false);
    assert.equal(new UnixWorkloadAttestor().type, UNIX);
    assert.deepEqual(createBuiltinWorkloadAttestors({ unix: {} }).map((a) => a.type), ['unix']);
    assert.deepEqual(createBuiltinWorkloadAttestors({}), []);
    assert.deepEqual(createBuiltinWorkloadAttestors({ unix: {}, k8s: { kubeletUrl: 'http://127.0.0.1:10255' } }).map((a) => a.type), ['unix', 'k8s']);
  });

  it('emits the effective uid and gid, their names, and each supplementary group with its name', async () => {
    proc(42, status([0, 1000, 1000, 1000], [7, 1000, 1000, 1000], [50, 29, 777]));
    const a = new UnixWorkloadAttestor({}, files);
    assert.deepEqual(values(await a.attest(42, PEER)), [
      'uid:1000', 'user:web', 'gid:1000', 'group:web',
      'supplementary_gid:50', 'supplementary_gid:29', 'supplementary_gid:777',
      'supplementary_group:staff', 'supplementary_group:audio',
    ]);
  });

  it('gives no user or group selector for an ID the files do not list, and that is not an error', async () => {
    proc(43, status([4321, 4321, 4321, 4321], [4321, 4321, 4321, 4321], []));
    assert.deepEqual(values(await new UnixWorkloadAttestor({}, files).attest(43, PEER)), ['uid:4321', 'gid:4321']);
  });

  it('sees an edit of /etc/passwd at the next call', async () => {
    proc(44, status([2000, 2000, 2000, 2000], [0, 0, 0, 0], []));
    const a = new UnixWorkloadAttestor({}, files);
    assert.deepEqual(values(await a.attest(44, PEER)), ['uid:2000', 'gid:0', 'group:root']);
    writeFileSync(files.passwdFile, `${readFileSync(files.passwdFile, 'utf8')}late:x:2000:2000::/:/bin/sh\n`);
    assert.deepEqual(values(await a.attest(44, PEER)), ['uid:2000', 'user:late', 'gid:0', 'group:root']);
  });

  it('treats absent passwd and group files as listing nobody', async () => {
    proc(45, status([0, 0, 0, 0], [0, 0, 0, 0], [0]));
    const a = new UnixWorkloadAttestor({}, { ...files, passwdFile: join(dir, 'none'), groupFile: join(dir, 'none2') });
    assert.deepEqual(values(await a.attest(45, PEER)), ['uid:0', 'gid:0', 'supplementary_gid:0']);
  });

  it('fails with an unavailable WorkloadAttestorError when the process is gone or its status is unreadable', async () => {
    const a = new UnixWorkloadAttestor({}, files);
    await assert.rejects(a.attest(99, PEER), (err: unknown) => {
      assert.ok(err instanceof WorkloadAttestorError);
      assert.equal(err.code, WorkloadAttestorErrorCode.unavailable);
      assert.equal(err.status, Status.UNAVAILABLE);
      assert.match(err.message, /^workloadattestor\(unix\): cannot read .*99\/status/);
      return true;
    });
    proc(46, 'Name:\tx\nUid:\t1\t2\n');
    await assert.rejects(a.attest(46, PEER), /the Uid: line is not four IDs/);
  });

  it('parses status files and account files defensively', () => {
    assert.throws(() => parseStatus('Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\n', 'f'), /no Groups: line/);
    assert.throws(() => parseStatus('Uid:\t1\tx\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\n', 'f'), /Uid: line/);
    assert.throws(() => parseStatus('Uid:\t1\t1\t1\t1\nGid:\t1\t1\t1\t1\nGroups:\t1 z\n', 'f'), /not a group ID/);
    assert.deepEqual(parseStatus('Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t\n', 'f'), { euid: 2, egid: 6, groups: [] });
    assert.deepEqual([...parseAccounts('a:x:1:1\n:x:2:2\nb:x:notanumber:1\nc:x:1:1\n-d:x:3:3\nshort\n')], [[1, 'a']]);
  });

  describe('with discoverWorkloadPath', () => {
    let exe: string;
    beforeEach(() => {
      proc(50, status([0, 0, 0, 0], [0, 0, 0, 0], []));
      exe = join(dir, 'bin', 'server');
      mkdirSync(join(dir, 'bin'));
      writeFileSync(exe, 'the binary, version 1');
      symlinkSync(exe, join(files.procRoot, '50', 'exe'));
    });
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

    it('adds path and sha256 of the executable', async () => {
      const a = new UnixWorkloadAttestor({ discoverWorkloadPath: true }, files);
      assert.deepEqual(values(await a.attest(50, PEER)), ['uid:0', 'user:root', 'gid:0', 'group:root', `path:${exe}`, `sha256:${sha('the binary, version 1')}`]);
    });

    it('hashes a rewritten binary again (the digest cache keys on inode, size, mtime and ctime)', async () => {
      const a = new UnixWorkloadAttestor({ discoverWorkloadPath: true }, files);
      await a.attest(50, PEER);
      writeFileSync(exe, 'the binary, version 2');
      assert.ok(values(await a.attest(50, PEER)).includes(`sha256:${sha('the binary, version 2')}`));
    });

    it('refuses a binary over workloadSizeLimit, and never hashes with a negative limit', async () => {
      await assert.rejects(new UnixWorkloadAttestor({ discoverWorkloadPath: true, workloadSizeLimit: 5 }, files).attest(50, PEER), (err: unknown) => {
        assert.ok(err instanceof WorkloadAttestorError);
        assert.equal(err.code, WorkloadAttestorErrorCode.refused);
        assert.match(err.message, /is 21 bytes, over the workload size limit of 5 bytes/);
        return true;
      });
      const noHash = values(await new UnixWorkloadAttestor({ discoverWorkloadPath: true, workloadSizeLimit: -1 }, files).attest(50, PEER));
      assert.deepEqual(noHash.slice(-1), [`path:${exe}`]);
      assert.throws(() => new UnixWorkloadAttestor({ workloadSizeLimit: 1.5 }), /integer/);
    });

    it('fails when the executable cannot be read', async () => {
      proc(51, status([0, 0, 0, 0], [0, 0, 0, 0], []));
      await assert.rejects(new UnixWorkloadAttestor({ discoverWorkloadPath: true }, files).attest(51, PEER), /cannot read the executable path of process 51/);
    });
  });

  it('attests this process from the real /proc, including the path and hash of node', async function () {
    this.timeout(30_000);
    const a = new UnixWorkloadAttestor({ discoverWorkloadPath: true });
    const got = values(await a.attest(process.pid, PEER));
    assert.equal(got[0], `uid:${process.geteuid?.()}`);
    assert.ok(got.includes(`gid:${process.getegid?.()}`));
    assert.ok(got.includes(`path:${process.execPath}`));
    const digest = got.find((v) => v.startsWith('sha256:'));
    assert.equal(digest, `sha256:${createHash('sha256').update(readFileSync(process.execPath)).digest('hex')}`);
  });

  it('hashes an unchanged binary once, however many callers run it, at once or one after another', async function () {
    this.timeout(30_000);
    const cache = new DigestCache();
    const digests = await Promise.all([1, 2, 3].map(() => cache.sha256('/proc', process.pid, 0)));
    digests.push(await cache.sha256('/proc', process.pid, 0));
    assert.equal(new Set(digests).size, 1);
    assert.equal(cache.hashed, 1);
  });
});
