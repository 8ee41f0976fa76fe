/**
 * The admin socket's file-system side. Whoever can connect is an administrator, so the directory
 * is created 0700 (nobody else can even reach the socket between bind and chmod) and the socket is
 * made 0600 after listening. A socket file left by a server that died is removed; one a live server
 * still answers on is not, and the start fails saying so.
 */
import { chmodSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { messageOf } from '../../../spiffe/errors.js';
import type { AdminLogger } from './deps.js';
import { AdminError, AdminErrorCode } from './errors.js';

// sockaddr_un.sun_path is 108 bytes on Linux, one of them the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
const PROBE_TIMEOUT_MS = 2000;

const socketError = (message: string, cause?: unknown): AdminError =>
  new AdminError(AdminErrorCode.socket, `admin socket: ${message}`, { cause });

const errno = (err: unknown): string | undefined => (err as NodeJS.ErrnoException | undefined)?.code;

/** Makes `path` ready to bind: its directory private, no file in the way. `path` must be absolute. */
export async function prepareSocketPath(path: string, logger: AdminLogger): Promise<void> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH_BYTES) {
    throw socketError(`${path} is ${Buffer.byteLength(path)} bytes long, and Unix sockets allow at most ${MAX_SOCKET_PATH_BYTES}: choose a shorter path`);
  }
  const dir = dirname(path);
  try {
    const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The umask may have taken bits away from 0700; the owner needs all three.
    if (created !== undefined) chmodSync(dir, 0o700);
    else warnIfShared(dir, logger);
  } catch (err) {
    throw socketError(`cannot create the directory ${dir}: ${messageOf(err)}`, err);
  }
  let existing;
  try {
    existing = lstatSync(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return;
    throw socketError(`cannot inspect ${path}: ${messageOf(err)}`, err);
  }
  if (!existing.isSocket()) {
    throw socketError(`${path} exists and is not a socket; refusing to replace it: remove it or choose another path`);
  }
  if (await answers(path)) {
    throw socketError(`another server is already listening on ${path}: stop it first, or give this server another admin socket path`);
  }
  logger.info(`admin: removing the stale admin socket ${path} left by a server that is no longer running`);
  try {
    unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') throw socketError(`cannot remove the stale socket ${path}: ${messageOf(err)}`, err);
  }
}

function warnIfShared(dir: string, logger: AdminLogger): void {
  const mode = statSync(dir).mode & 0o777;
  // Only the socket's own 0600 protects it in a directory others can enter; say so, but an
  // operator-chosen directory is not ours to chmod.
  if ((mode & 0o077) !== 0) {
    logger.warn(`admin: the admin socket's directory ${dir} has mode ${mode.toString(8)}; 0700 keeps other users from reaching it`, {
      dir,
      mode: mode.toString(8),
    });
  }
}

/** Whether something accepts connections on the socket (a live server), or it is stale. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    const done = (result: boolean | Error): void => {
      clearTimeout(timer);
      sock.destroy();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    // A server too busy to accept within the timeout is still a server.
    const timer = setTimeout(() => done(true), PROBE_TIMEOUT_MS);
    sock.once('connect', () => done(true));
    sock.once('error', (err) => {
      const code = errno(err);
      if (code === 'ECONNREFUSED' || code === 'ENOENT') done(false);
      else done(socketError(`cannot tell whether a server is listening on ${path}: ${messageOf(err)}`, err));
    });
  });
}

/** The socket's identity once bound, so stop() removes only the file it created. */
export function socketIdentity(path: string): { dev: number; ino: number } {
  const st = statSync(path);
  return { dev: st.dev, ino: st.ino };
}

export function removeSocket(path: string, identity: { dev: number; ino: number }, logger: AdminLogger): void {
  try {
    const st = lstatSync(path);
    if (st.dev === identity.dev && st.ino === identity.ino) unlinkSync(path);
  } catch (err) {
    if (errno(err) !== 'ENOENT') logger.warn(`admin: cannot remove the admin socket ${path}: ${messageOf(err)}`);
  }
}
