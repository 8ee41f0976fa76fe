/**
 * Real `sigil server run` processes (bin/sigil → dist/cli/main.js), each in a temporary directory
 * of its own: started, waited for until their ready line, signalled, and always killed and cleaned
 * up after the test, whatever happened to it.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/shared.js';

export const SIGIL = join(REPO_ROOT, 'bin', 'sigil');
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'server');

/** `sigil server ready: trust domain TD, agent API HOST:PORT, admin socket PATH`, on stderr. */
export const READY_LINE = /^sigil server ready: trust domain (\S+), agent API (\S+):(\d+), admin socket (\S+)$/m;

export interface Ready {
  trustDomain: string;
  host: string;
  port: number;
  adminSocket: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ServerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<Exit>;

  constructor(args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [SIGIL, 'server', 'run', ...args], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** Resolves with the ready line's fields; fails with the process's output if it exits first or is slow. */
  async ready(ms = 30_000): Promise<Ready> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = READY_LINE.exec(this.stderr);
      if (m) return { trustDomain: m[1]!, host: m[2]!.replace(/^\[(.*)\]$/, '$1'), port: Number(m[3]), adminSocket: m[4]! };
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        assert.fail(`sigil server run exited (${this.child.exitCode ?? this.child.signalCode}) before it was ready\n${this.output()}`);
      }
      if (Date.now() > deadline) assert.fail(`sigil server run was not ready within ${ms} ms\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Sends `signal` and waits for the exit; fails (after killing it) if it takes over `ms`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', ms = 20_000): Promise<Exit> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`sigil server run did not exit within ${ms} ms of ${signal}\n${this.output()}`));
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The JSON log lines printed on stdout. */
  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          assert.fail(`stdout line is not JSON: ${l}`);
        }
      });
  }

  output(): string {
    return `--- stderr ---\n${this.stderr}\n--- stdout ---\n${this.stdout}`;
  }
}

/** Spawns servers and temp dirs for a suite; after each test, kills what is still running and removes the dirs. */
export function useServers(): {
  tmp(): string;
  start(args: readonly string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): ServerProcess;
} {
  const procs: ServerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async function () {
    for (const p of procs.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        if (this.currentTest?.state === 'failed') process.stderr.write(p.output());
        p.child.kill('SIGKILL');
        await p.exited;
      }
    }
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    tmp() {
      // Short: the admin socket lives here too, and socket paths are limited to 107 bytes.
      const d = mkdtempSync(join(tmpdir(), 'sgs-'));
      dirs.push(d);
      return d;
    },
    start(args, options = {}) {
      const p = new ServerProcess(args, options.cwd ?? REPO_ROOT, options.env);
      procs.push(p);
      return p;
    },
  };
}

/** Runs `bin/sigil ARGS` to completion (the admin CLI), returning its exit status and output. */
export function sigil(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SIGIL, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The usual flags for a test server in `dir`: free port on loopback, socket and data inside `dir`. */
export function serverArgs(dir: string, td = 'example.org'): string[] {
  return ['--trust-domain', td, '--bind', '127.0.0.1:0', '--admin-socket', join(dir, 'admin.sock'), '--data-dir', join(dir, 'data')];
}
