/**
 * Which process is at the other end of each Workload API connection, and whether it still is.
 *
 * At accept the kernel names the connecting process (SO_PEERCRED). A PID is only a number, though:
 * the caller can exit and the number be handed to another process before an RPC on the connection
 * is attested, and attestation (which reads /proc/<pid>) would then describe the newcomer. So the
 * tracker also pins the process itself at accept, and each RPC checks after attestation that the pin
 * still holds (platform-notes B.3; SPIRE's peertracker does the second half):
 *   - a pidfd: from SO_PEERPIDFD when the kernel has it (it names the process that called
 *     connect(), with no window at all), else pidfd_open(pid) at accept. Once its process exits a
 *     pidfd stays dead, even when the PID is reused.
 *   - the start time (field 22 of /proc/<pid>/stat, in clock ticks since boot): a reused PID has a
 *     later one. This is the only pin on kernels without pidfds, and costs one read to keep.
 * What no pin catches, here or in SPIRE, is the caller exec()ing another binary after connecting:
 * PID and start time stay. That is why attestation runs per call, never per connection.
 */
import { readFileSync } from 'node:fs';
import type { PeerSyscalls } from './peer-credentials.js';

export interface TrackedPeer {
  /** Stamped on the socket as its remoteAddress, so grpc-js's call.getPeer() returns it. */
  readonly id: string;
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
  /** Undefined when the process was gone before its start time could be read. */
  readonly startTime: string | undefined;
  readonly pidfd: number | undefined;
  /** How the process is pinned, for logs. */
  readonly pin: 'so_peerpidfd' | 'pidfd_open' | 'start_time';
}

export interface PeerTrackerOptions {
  syscalls: PeerSyscalls;
  /** /proc/<pid>/stat start time; undefined when the process does not exist. Tests substitute it. */
  readStartTime?: (pid: number) => string | undefined;
  /** Off: pin by start time alone (the path taken on kernels without pidfds; tests use it). */
  usePidfd?: boolean;
}

const CONNECTION_ID_PREFIX = 'uds-conn-';

export class PeerTracker {
  readonly #sys: PeerSyscalls;
  readonly #readStartTime: (pid: number) => string | undefined;
  readonly #usePidfd: boolean;
  readonly #peers = new Map<string, TrackedPeer>();
  #next = 1;

  constructor(options: PeerTrackerOptions) {
    this.#sys = options.syscalls;
    this.#readStartTime = options.readStartTime ?? readProcStartTime;
    this.#usePidfd = options.usePidfd ?? true;
  }

  /** Identifies and pins the peer of a just-accepted socket. Throws when the kernel will not say. */
  track(socketFd: number): TrackedPeer {
    const creds = this.#sys.peerCredentials(socketFd);
    let pidfd: number | undefined;
    let pin: TrackedPeer['pin'] = 'start_time';
    // pid 0: the caller is in a PID namespace the agent cannot see into; there is nothing to pin,
    // and its calls are refused.
    if (this.#usePidfd && creds.pid > 0) {
      pidfd = this.#sys.peerPidfd(socketFd);
      if (pidfd !== undefined) pin = 'so_peerpidfd';
      else {
        pidfd = this.#sys.pidfdOpen(creds.pid);
        if (pidfd !== undefined) pin = 'pidfd_open';
      }
    }
    let startTime: string | undefined;
    try {
      startTime = creds.pid > 0 ? this.#readStartTime(creds.pid) : undefined;
    } catch (err) {
      if (pidfd !== undefined) this.#sys.closeFd(pidfd);
      throw err;
    }
    const peer: TrackedPeer = { id: `${CONNECTION_ID_PREFIX}${this.#next++}`, ...creds, startTime, pidfd, pin };
    this.#peers.set(peer.id, peer);
    return peer;
  }

  get(id: string): TrackedPeer | undefined {
    return this.#peers.get(id);
  }

  get size(): number {
    return this.#peers.size;
  }

  /** Forgets a closed connection and closes its pidfd. */
  release(id: string): void {
    const peer = this.#peers.get(id);
    if (peer === undefined) return;
    this.#peers.delete(id);
    if (peer.pidfd !== undefined) this.#sys.closeFd(peer.pidfd);
  }

  releaseAll(): void {
    for (const id of [...this.#peers.keys()]) this.release(id);
  }

  /**
   * Why `peer` can no longer be trusted to be the process that connected, or undefined when it
   * still is. Call it after attestation, so what attestation read is vouched for by the check.
   */
  problem(peer: TrackedPeer): string | undefined {
    // A released record's pidfd is closed, and its number may already name another file.
    if (this.#peers.get(peer.id) !== peer) return 'the connection has closed';
    if (peer.pid <= 0) return 'the caller is in another PID namespace, so the kernel did not name its process';
    if (peer.startTime === undefined) return `process ${peer.pid} had exited before the agent could inspect it`;
    if (peer.pidfd !== undefined && !this.#sys.pidfdAlive(peer.pidfd)) return `process ${peer.pid} has exited`;
    const now = this.#readStartTime(peer.pid);
    if (now === undefined) return `process ${peer.pid} has exited`;
    if (now !== peer.startTime) return `PID ${peer.pid} now belongs to another process (start time ${now}, was ${peer.startTime})`;
    return undefined;
  }
}

/** Field 22 of /proc/<pid>/stat; sync because it is read at accept, before the socket is handed on. */
export function readProcStartTime(pid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    throw err;
  }
  return parseStartTime(text);
}

/** comm (field 2) may hold spaces and parentheses, so fields are counted from the last ')'. */
export function parseStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const value = fields[19];
  return value !== undefined && /^[0-9]+$/.test(value) ? value : undefined;
}
