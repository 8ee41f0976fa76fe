/**
 * The end-to-end suite's processes: `bin/sigil server run` and `bin/sigil agent run` as real
 * children, the admin and agent CLIs run to completion, and polling with a bound. Nothing here runs
 * sigil in this process, so what the suite sees is what an operator and a workload would.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { REPO_ROOT } from '../../support/shared.js';

export const SIGIL = join(REPO_ROOT, 'bin', 'sigil');
export const SERVER_READY = /^sigil server ready: trust domain (\S+), agent API (\S+):(\d+), admin socket (\S+)$/m;
export const AGENT_READY = /^sigil agent ready: (\S+), serving the Workload API on (\S+)$/m;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A long-running `bin/sigil …` child whose output is kept for failure messages. */
export class SigilProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(
    readonly name: string,
    args: readonly string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [SIGIL, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The ready line's match; fails with the output if the process exits first or is slow. */
  async ready(line: RegExp, ms = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = line.exec(this.stderr);
      if (m) return m;
      if (!this.running) assert.fail(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready\n${this.output()}`);
      if (Date.now() > deadline) assert.fail(`${this.name} was not ready within ${ms} ms\n${this.output()}`);
      await sleep(25);
    }
  }

  /** Sends `signal` and waits for the exit; SIGKILLs and fails if that takes over `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 15_000): Promise<Exit> {
    if (this.running) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`${this.name} did not exit within ${ms} ms of ${signal}\n${this.output()}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  output(): string {
    return `--- ${this.name} stderr ---\n${this.stderr}\n--- ${this.name} stdout (last 40 lines) ---\n${this.stdout.split('\n').slice(-40).join('\n')}`;
  }
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `bin/sigil ARGS` to completion. */
export function sigil(...args: string[]): Run {
  const r = spawnSync(process.execPath, [SIGIL, ...args], { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `bin/sigil ARGS` that must succeed; its stdout. */
export function sigilOk(...args: string[]): string {
  const r = sigil(...args);
  assert.equal(r.status, 0, `sigil ${args.join(' ')} exited ${r.status}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `check` until it returns a value other than undefined; after `ms` fails naming `what` and
 * what `last()` says about the state it was waiting on.
 */
export async function poll<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 15_000,
  last: () => string = () => '',
  every = 100,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms ${last()}`);
    await sleep(every);
  }
}

/** The leaf of a Workload API `x509_svid` (DER certificates concatenated, leaf first). */
export function leaf(chain: Buffer): X509Certificate {
  assert.equal(chain[0], 0x30, 'x509_svid does not start with a DER SEQUENCE');
  const first = chain[1]!;
  let len: number;
  let header: number;
  if (first < 0x80) {
    len = first;
    header = 2;
  } else {
    const n = first & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + chain[2 + i]!;
    header = 2 + n;
  }
  return new X509Certificate(chain.subarray(0, header + len));
}
