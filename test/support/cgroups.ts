/**
 * Kubelet-style cgroups for tests that run as root (shared/reference/platform-notes.md §C): the
 * kernel does not check cgroup names, so `mkdir` under a hierarchy and a write to `cgroup.procs`
 * put a process "in a container". Only the v1 `pids` hierarchy and the v2 one are touched (never
 * memory or cpu, which the machine itself uses), everything under one uniquely named directory so
 * concurrent test runs do not meet, and all of it removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface PodContainer {
  podUid: string;
  containerId: string;
  /** `besteffort`, `burstable`. */
  qos?: string;
}

/** The writable hierarchies: v1 pids (cgroupfs-style paths) and v2 (systemd-style paths). */
function hierarchies(): { v1pids?: string; v2?: string } {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' '));
  const find = (pred: (m: string[]) => boolean): string | undefined => mounts.find(pred)?.[1];
  const v1pids = find((m) => m[2] === 'cgroup' && (m[3] ?? '').split(',').includes('pids'));
  const v2 = find((m) => m[2] === 'cgroup2');
  const writable = (p: string | undefined): string | undefined => {
    if (p === undefined) return undefined;
    try {
      accessSync(p, constants.W_OK);
      return p;
    } catch {
      return undefined;
    }
  };
  return { v1pids: writable(v1pids), v2: writable(v2) };
}

/** Why kubelet-style cgroups cannot be made here, or undefined when they can. */
export function cgroupsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to create cgroups';
  const h = hierarchies();
  if (h.v1pids === undefined && h.v2 === undefined) return 'no writable cgroup hierarchy (an unprivileged container?)';
  return undefined;
}

export class CgroupSandbox {
  readonly #roots: string[] = [];
  readonly #h = hierarchies();
  readonly #prefix = `sigil-test-${randomBytes(4).toString('hex')}`;

  /** The directories (one per hierarchy) a process of `c` goes into, created on first use. */
  dirsFor(c: PodContainer): string[] {
    const qos = c.qos ?? 'besteffort';
    const dirs: string[] = [];
    if (this.#h.v1pids !== undefined) {
      const root = join(this.#h.v1pids, this.#prefix);
      this.#track(root);
      dirs.push(join(root, 'kubepods', qos, `pod${c.podUid}`, c.containerId));
    }
    if (this.#h.v2 !== undefined) {
      const root = join(this.#h.v2, this.#prefix);
      this.#track(root);
      const uid = c.podUid.replaceAll('-', '_');
      dirs.push(
        join(root, 'kubepods.slice', `kubepods-${qos}.slice`, `kubepods-${qos}-pod${uid}.slice`, `cri-containerd-${c.containerId}.scope`),
      );
    }
    for (const d of dirs) mkdirSync(d, { recursive: true });
    return dirs;
  }

  /**
   * Runs `argv` inside the container's cgroups: a shell moves itself in, then execs, keeping its
   * PID (and so the cgroups) for the program.
   */
  spawnIn(c: PodContainer, argv: readonly string[]): ChildProcess {
    const moves = this.dirsFor(c).map((d) => `echo $$ > '${d}/cgroup.procs'`).join(' && ');
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    return spawn('/bin/sh', ['-c', `${moves} && exec ${quoted}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  #track(root: string): void {
    if (!this.#roots.includes(root)) this.#roots.push(root);
  }

  /** Removes every directory made, deepest first; a cgroup with a process still in it is reported. */
  cleanup(): string[] {
    const left: string[] = [];
    const remove = (dir: string): void => {
      if (!existsSync(dir)) return;
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) remove(p);
      }
      try {
        rmdirSync(dir);
      } catch (err) {
        left.push(`${dir}: ${(err as Error).message}`);
      }
    };
    for (const root of this.#roots) remove(root);
    return left;
  }
}
