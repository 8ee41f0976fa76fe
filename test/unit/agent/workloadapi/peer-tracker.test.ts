/**
 * The peer tracker against a fake kernel (which pin is taken, what counts as the same process,
 * pidfds closed on release) and the real system calls on a real Unix socket: SO_PEERCRED names this
 * process, SO_PEERPIDFD gives a live pidfd, and a pidfd of an exited child reports it dead.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linuxSyscalls, type PeerCredentials, type PeerSyscalls } from '../../../../agent/workloadapi/peer-credentials.js';
import { parseStartTime, PeerTracker, readProcStartTime } from '../../../../agent/workloadapi/peer-tracker.js';

class FakeKernel implements PeerSyscalls {
  creds: PeerCredentials = { pid: 100, uid: 1000, gid: 1000 };
  peerPidfdSupported = true;
  pidfdOpenSupported = true;
  alive = new Set<number>();
  closed: number[] = [];
  #nextFd = 50;
  peerCredentials(): PeerCredentials {
    return { ...this.creds };
  }
  peerPidfd(): number | undefined {
    return this.peerPidfdSupported ? this.#open() : undefined;
  }
  pidfdOpen(): number | undefined {
    return this.pidfdOpenSupported ? this.#open() : undefined;
  }
  pidfdAlive(fd: number): boolean {
    return this.alive.has(fd);
  }
  closeFd(fd: number): void {
    this.closed.push(fd);
  }
  #open(): number {
    const fd = this.#nextFd++;
    this.alive.add(fd);
    return fd;
  }
}

describe('agent/workloadapi: peer tracking', () => {
  let kernel: FakeKernel;
  let startTimes: Map<number, string>;
  const tracker = (usePidfd = true): PeerTracker =>
    new PeerTracker({ syscalls: kernel, readStartTime: (pid) => startTimes.get(pid), usePidfd });
  beforeEach(() => {
    kernel = new FakeKernel();
    startTimes = new Map([[100, '5000']]);
  });

  it('pins by SO_PEERPIDFD when the kernel has it, else pidfd_open, else start time alone', () => {
    assert.equal(tracker().track(7).pin, 'so_peerpidfd');
    kernel.peerPidfdSupported = false;
    assert.equal(tracker().track(7).pin, 'pidfd_open');
    kernel.pidfdOpenSupported = false;
    assert.equal(tracker().track(7).pin, 'start_time');
    kernel.pidfdOpenSupported = true;
    assert.equal(tracker(false).track(7).pin, 'start_time');
  });

  it('gives each connection its own id and record, and closes its pidfd on release', () => {
    const t = tracker();
    const a = t.track(7);
    const b = t.track(8);
    assert.notEqual(a.id, b.id);
    assert.match(a.id, /^uds-conn-\d+$/);
    assert.deepEqual([t.get(a.id)?.pid, t.get(a.id)?.uid, t.get(a.id)?.startTime], [100, 1000, '5000']);
    t.release(a.id);
    assert.equal(t.get(a.id), undefined);
    assert.equal(t.problem(a), 'the connection has closed');
    assert.deepEqual(kernel.closed, [a.pidfd]);
    t.releaseAll();
    assert.equal(t.size, 0);
    assert.deepEqual(kernel.closed, [a.pidfd, b.pidfd]);
  });

  it('closes the pidfd it took when the start time cannot be read at accept', () => {
    const t = new PeerTracker({
      syscalls: kernel,
      readStartTime: () => {
        throw new Error('EACCES');
      },
    });
    assert.throws(() => t.track(7), /EACCES/);
    assert.equal(kernel.closed.length, 1);
    assert.equal(t.size, 0);
  });

  it('trusts a peer that is still the process that connected', () => {
    const t = tracker();
    assert.equal(t.problem(t.track(7)), undefined);
  });

  it('detects a reused PID by its start time even when the pidfd cannot tell (start-time pin)', () => {
    const t = tracker(false);
    const peer = t.track(7);
    startTimes.set(100, '9999');
    assert.match(t.problem(peer) ?? '', /PID 100 now belongs to another process \(start time 9999, was 5000\)/);
  });

  it('detects an exited process by its pidfd even when its PID already holds the same start time', () => {
    const t = tracker();
    const peer = t.track(7);
    kernel.alive.delete(peer.pidfd ?? -1);
    assert.equal(t.problem(peer), 'process 100 has exited');
  });

  it('refuses a process that has gone, one that was gone at accept, and one in another PID namespace', () => {
    const t = tracker();
    const peer = t.track(7);
    startTimes.delete(100);
    assert.equal(t.problem(peer), 'process 100 has exited');
    assert.match(t.problem(t.track(8)) ?? '', /had exited before the agent could inspect it/);
    kernel.creds = { pid: 0, uid: 0, gid: 0 };
    const hidden = t.track(9);
    assert.equal(hidden.pidfd, undefined);
    assert.match(t.problem(hidden) ?? '', /another PID namespace/);
  });

  it('reads field 22 of /proc/<pid>/stat, counting from the last parenthesis of comm', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3));
    assert.equal(parseStartTime(`123 (a) b (c) ${fields.join(' ')}`), '22');
    assert.equal(parseStartTime('123 no-paren'), undefined);
    assert.equal(parseStartTime('123 (x) S 1'), undefined);
    const mine = readProcStartTime(process.pid);
    assert.match(mine ?? '', /^\d+$/);
    assert.equal(readProcStartTime(process.pid), mine);
    assert.equal(readProcStartTime(0x7ffffff0), undefined);
  });
});

describe('agent/workloadapi: Linux peer credentials (real system calls)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-peercred-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('SO_PEERCRED names this process, SO_PEERPIDFD gives a live pidfd for it', async () => {
    const path = join(dir, 's.sock');
    const server = createServer();
    await new Promise<void>((r) => server.listen(path, r));
    const accepted = new Promise<Socket>((r) => server.once('connection', r));
    const client = connect(path);
    const sock = await accepted;
    try {
      const fd = (sock as unknown as { _handle: { fd: number } })._handle.fd;
      assert.deepEqual(linuxSyscalls.peerCredentials(fd), { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() });
      const pidfd = linuxSyscalls.peerPidfd(fd);
      // Undefined on kernels before 6.5, where the tracker falls back to pidfd_open.
      if (pidfd !== undefined) {
        assert.equal(linuxSyscalls.pidfdAlive(pidfd), true);
        linuxSyscalls.closeFd(pidfd);
      }
    } finally {
      client.destroy();
      sock.destroy();
      server.close();
    }
  });

  it("a pidfd of a child reports it dead once it exits; pidfd_open of an exited PID gives none", async () => {
    const child = spawn('sleep', ['30']);
    const pid = child.pid ?? 0;
    const pidfd = linuxSyscalls.pidfdOpen(pid);
    assert.notEqual(pidfd, undefined);
    assert.equal(linuxSyscalls.pidfdAlive(pidfd ?? -1), true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.equal(linuxSyscalls.pidfdAlive(pidfd ?? -1), false);
    linuxSyscalls.closeFd(pidfd ?? -1);
    assert.equal(linuxSyscalls.pidfdOpen(pid), undefined);
  });

  it('fails loudly on a descriptor that is not a socket', () => {
    assert.throws(() => linuxSyscalls.peerCredentials(0x7fff), /getsockopt\(SO_PEERCRED\) failed with errno 9/);
  });
});
