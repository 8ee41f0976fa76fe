/**
 * A caller whose PID has been handed to another process is not attested as the process that
 * connected. The real thing: process A connects and passes the connection to its child G; A exits;
 * the test forces the kernel to give A's PID to an imposter running as another user (as root,
 * through /proc/sys/kernel/ns_last_pid) who is entitled to an SVID; G then calls on A's connection.
 * A naive agent would attest the imposter and hand G the imposter's SVID. sigil refuses, with the
 * pidfd pin (SO_PEERPIDFD) and with the start-time pin alone.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { status } from '@grpc/grpc-js';
import { UnixWorkloadAttestor } from '../../../attestors/workload/unix/unix.js';
import { startHarness, type Harness } from './harness.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';
const CALLER_UID = 1001;
const IMPOSTER_UID = 1000;

interface Line {
  ready?: number;
  a?: number;
  g?: number;
  call?: number;
  status?: number;
  message?: string;
  ids?: string[];
}

class Lines {
  readonly #queue: Line[] = [];
  readonly #waiters: ((l: Line) => void)[] = [];
  constructor(child: ChildProcess) {
    if (child.stdout === null) throw new Error('no stdout');
    createInterface({ input: child.stdout }).on('line', (text) => {
      const l = JSON.parse(text) as Line;
      const w = this.#waiters.shift();
      if (w) w(l);
      else this.#queue.push(l);
    });
  }
  next(timeoutMs = 10_000): Promise<Line> {
    const l = this.#queue.shift();
    if (l) return Promise.resolve(l);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no line from the child')), timeoutMs);
      this.#waiters.push((x) => {
        clearTimeout(t);
        resolve(x);
      });
    });
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** Spawns `sleep` as IMPOSTER_UID until it gets `pid`. */
async function takePid(pid: number): Promise<ChildProcess> {
  for (let i = 0; i < 50; i++) {
    writeFileSync(NS_LAST_PID, String(pid - 1));
    const p = spawn('sleep', ['60'], { uid: IMPOSTER_UID, gid: IMPOSTER_UID, stdio: 'ignore' });
    if (p.pid === pid) return p;
    p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`could not get PID ${pid} reused`);
}

for (const mode of ['pidfd', 'start time'] as const) {
  describe(`workload api: PID reuse (real, pinned by ${mode})`, function () {
    if (process.getuid?.() !== 0 || !existsSync(NS_LAST_PID)) {
      it.skip('needs root and /proc/sys/kernel/ns_last_pid');
      return;
    }
    let h: Harness;
    const children: ChildProcess[] = [];
    before(async () => {
      h = await startHarness({ peerTracking: { usePidfd: mode === 'pidfd' } });
      h.view.setIdentities([
        await h.authority.issue('/caller', [`unix:uid:${CALLER_UID}`]),
        await h.authority.issue('/imposter', [`unix:uid:${IMPOSTER_UID}`]),
      ]);
    });
    after(async () => {
      for (const c of children) c.kill('SIGKILL');
      await h.close();
    });

    it("refuses calls on a connection whose process exited and whose PID now belongs to someone else", async () => {
      const a = spawn(process.execPath, [join(HERE, 'children', 'connect-and-hand-over.js'), h.socketPath], {
        uid: CALLER_UID,
        gid: CALLER_UID,
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      children.push(a);
      const lines = new Lines(a);
      const started = await lines.next();
      assert.equal(started.a, a.pid);
      const g = started.g ?? 0;
      children.push({ kill: (s: NodeJS.Signals) => killQuietly(g, s) } as unknown as ChildProcess);
      assert.equal((await lines.next()).ready, g);

      // While A lives, G's call on A's connection is A's: it gets A's SVID.
      process.kill(g, 'SIGUSR1');
      const ok = await lines.next();
      assert.deepEqual([ok.status, ok.ids], [status.OK, ['spiffe://example.org/caller']]);

      const exited = new Promise((r) => a.once('exit', r));
      a.stdin?.write('exit\n');
      await exited;
      const imposter = await takePid(started.a ?? 0);
      children.push(imposter);
      // What a naive agent would attest on this connection now: the imposter, entitled to /imposter.
      const naive = await new UnixWorkloadAttestor().attest(started.a ?? 0, { uid: CALLER_UID, gid: CALLER_UID });
      assert.ok(naive.some((s) => s.value === `uid:${IMPOSTER_UID}`));

      process.kill(g, 'SIGUSR1');
      const refused = await lines.next();
      assert.equal(refused.status, status.UNAUTHENTICATED, JSON.stringify(refused));
      assert.equal(refused.message, 'could not verify existence of the original caller');
      assert.deepEqual(refused.ids, []);
      const warn = h.logger.find('warn', 'cannot be confirmed');
      assert.equal(warn?.fields['pid'], started.a);
      assert.equal(warn?.fields['pin'], mode === 'pidfd' ? 'so_peerpidfd' : 'start_time');
      assert.match(String(warn?.fields['reason']), mode === 'pidfd' ? /has exited/ : /now belongs to another process/);
    });
  });
}
