/**
 * The Workload API socket's file-system side. Any local process may connect (security comes from
 * attesting each caller, not from file permissions), so the directory is 0755 and the socket 0777,
 * as SPIRE's public socket is. A socket file left by an agent that died is removed; one a live agent
 * still answers on is not, and the start fails saying so, rather than stealing its workloads.
 */
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { SigilError, messageOf } from '../../spiffe/errors.js';
import type { WorkloadApiLogger } from './logger.js';

// sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
const PROBE_TIMEOUT_MS = 2000;

export class WorkloadSocketError extends SigilError {
  constructor(message: string, cause?: unknown) {
    super('SIGIL_WORKLOADAPI_SOCKET', `workload api socket: ${message}`, { cause });
  }
}

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Makes `path` ready to bind: its directory present and reachable by everyone, nothing in the way. */
export async function prepareSocketPath(path: string, logger: WorkloadApiLogger): Promise<void> {
  if (!isAbsolute(path)) throw new WorkloadSocketError(`${path} is not an absolute path`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw new WorkloadSocketError(
      `${path} is ${Buffer.byteLength(path)} bytes long, and Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter path`,
    );
  }
  const dir = dirname(path);
  try {
    const created = mkdirSync(dir, { recursive: true, mode: 0o755 });
    // The umask may have taken bits away; workloads of every user must reach the socket.
    if (created !== undefined) chmodSync(dir, 0o755);
  } catch (err) {
    throw new WorkloadSocketError(`cannot create the directory ${dir}: ${messageOf(err)}`, err);
  }
  let existing;
  try {
    existing = lstatSync(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw new WorkloadSocketError(`cannot inspect ${path}: ${messageOf(err)}`, err);
  }
  if (!existing.isSocket()) {
    throw new WorkloadSocketError(`${path} exists and is not a socket; refusing to replace it: remove it or choose another path`);
  }
  if (await answers(path)) {
    throw new WorkloadSocketError(`another agent is already listening on ${path}: stop it first, or give this agent another socket path`);
  }
  logger.info({ socketPath: path }, 'workload api: removing a stale socket left by an agent that is no longer running');
  try {
    unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw new WorkloadSocketError(`cannot remove the stale socket ${path}: ${messageOf(err)}`, err);
  }
}

/** Whether something accepts connections on the socket (a live agent), or it is stale. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const done = (result: boolean | Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    // An agent too busy to accept within the timeout is still an agent.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    sock.once('connect', () => done(true));
    sock.once('error', (err) => {
      const code = errno(err);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') done(false);
      else done(new WorkloadSocketError(`cannot tell whether an agent is listening on ${path}: ${messageOf(err)}`, err));
    });
  });
}

/** After listen: every local user may connect. */
export function openSocketToAll(path: string): { dev: number; ino: number } {
  try {
    chmodSync(path, 0o777);
  } catch (err) {
    throw new WorkloadSocketError(`cannot make ${path} connectable by every user: ${messageOf(err)}`, err);
  }
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino };
}

/** Removes the socket only if it is still the file this agent created. */
export function removeSocket(path: string, identity: { dev: number; ino: number }, logger: WorkloadApiLogger): void {
  try {
    const st = lstatSync(path);
    if (st.dev === identity.dev && st.ino === identity.ino) unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') logger.warn({ socketPath: path, err: messageOf(err) }, 'workload api: cannot remove the socket');
  }
}
