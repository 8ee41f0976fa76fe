/**
 * Which container (and, when the path says so, which pod) a process runs in, from the cgroup paths
 * the kernel reports for it. The rules are SPIRE's container locator's, so every runtime and driver
 * it understands is understood here: walk each path's segments from the end; the container ID is
 * the first 64-hex token (`docker-<id>.scope`, `crio-<id>.scope`, `…slice:cri-containerd:<id>`,
 * `/kubepods/…/<id>`), the pod UID a `pod<uuid>` at or before it, with systemd's `_` for `-`.
 * Prefixes (a kind node's outer docker ID, `/../../` in another cgroup namespace) do not matter.
 *
 * /proc/<pid>/cgroup is read first because the kernel writes it and the workload cannot change
 * it. /proc/<pid>/mountinfo, which a workload can shape (a bind mount of another container's cgroup
 * directory, even unprivileged in a user namespace), is read only when every cgroup path is `/`:
 * the process sits at the root of the agent's own cgroup namespace, where the cgroup file cannot say
 * more. A process whose cgroup file names a non-container cgroup (`/user.slice/…`) is a host
 * process, whatever its mounts claim.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { messageOf } from '../../../spiffe/errors.js';
import { K8S } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';

export interface ContainerRef {
  /** 64 lowercase hex digits, as the runtime names the container. */
  containerId: string;
  /** The pod's UID with dashes, when a path carries it; absent for CRI-O in another cgroupns. */
  podUid?: string;
}

const CONTAINER_ID = /\b([0-9a-f]{64})\b/;
const POD_UID = /\bpod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})\b/;

/** The container and pod one cgroup path names, or undefined when it names no container. */
export function containerOfPath(path: string): ContainerRef | undefined {
  const segments = path.split('/');
  for (let i = segments.length - 1; i >= 0; i--) {
    const id = CONTAINER_ID.exec(segments[i]!);
    if (id === null) continue;
    for (let j = i; j >= 0; j--) {
      const pod = POD_UID.exec(segments[j]!);
      if (pod !== null) return { containerId: id[1]!, podUid: pod[1]!.replaceAll('_', '-') };
    }
    return { containerId: id[1]! };
  }
  return undefined;
}

/**
 * One answer from many paths. Paths that carry a pod UID win over those that do not (a kind node's
 * `0::` line names only the node's own docker container); among the winners every container ID and
 * every pod UID must agree, or the process is refused rather than guessed at.
 */
export function containerOfPaths(paths: Iterable<string>, source: string): ContainerRef | undefined {
  const refs = [...paths].map(containerOfPath).filter((r): r is ContainerRef => r !== undefined);
  const inPod = refs.filter((r) => r.podUid !== undefined);
  const chosen = inPod.length > 0 ? inPod : refs;
  if (chosen.length === 0) return undefined;
  const ids = [...new Set(chosen.map((r) => r.containerId))];
  if (ids.length > 1) {
    throw new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.ambiguous, `${source} names multiple container IDs (${ids.join(', ')}); refusing to pick one`);
  }
  const pods = [...new Set(inPod.map((r) => r.podUid!))];
  if (pods.length > 1) {
    throw new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.ambiguous, `${source} names multiple pod UIDs (${pods.join(', ')}); refusing to pick one`);
  }
  return pods[0] === undefined ? { containerId: ids[0]! } : { containerId: ids[0]!, podUid: pods[0] };
}

/** The paths of a /proc/<pid>/cgroup file: `ID:controllers:path`, where the path may hold colons. */
export function cgroupPaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    if (second >= 0) out.push(line.slice(second + 1));
  }
  return out;
}

/**
 * The roots of the cgroup and cgroup2 mounts in a /proc/<pid>/mountinfo file (field 4; the file
 * system type follows the ` - ` separator). A root of `/` says nothing and is skipped.
 */
export function mountinfoCgroupRoots(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fsType = line.slice(sep + 3).split(' ')[0];
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    const root = line.slice(0, sep).split(' ')[3];
    if (root !== undefined && root !== '/') out.push(unescapeMountField(root));
  }
  return out;
}

/** mountinfo escapes space, tab, newline and backslash as three octal digits. */
function unescapeMountField(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The container of process `pid`, or undefined for a process in no container (a host process:
 * not an error, it just has no k8s selectors). /proc files are generated in memory, so the reads
 * are synchronous (see unix/proc-status.ts for why).
 */
export function locateContainer(procRoot: string, pid: number): ContainerRef | undefined {
  const cgroupFile = join(procRoot, String(pid), 'cgroup');
  const paths = cgroupPaths(readProc(cgroupFile));
  const fromCgroup = containerOfPaths(paths, cgroupFile);
  if (fromCgroup !== undefined || paths.some((p) => p !== '/')) return fromCgroup;
  const mountinfoFile = join(procRoot, String(pid), 'mountinfo');
  let mountinfo: string;
  try {
    mountinfo = readFileSync(mountinfoFile, 'utf8');
  } catch (err) {
    // The cgroup file was readable, so the process exists; a missing mountinfo (a test's fake
    // /proc, a kernel without it) just means the fallback has nothing to add.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw unreadable(mountinfoFile, err);
  }
  return containerOfPaths(mountinfoCgroupRoots(mountinfo), mountinfoFile);
}

function readProc(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw unreadable(file, err);
  }
}

function unreadable(file: string, err: unknown): WorkloadAttestorError {
  return new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `cannot read ${file}: ${messageOf(err)}`, { cause: err });
}
