/**
 * The caller's executable: its path and its SHA-256. Both come through /proc/<pid>/exe, the kernel's
 * link to the exact file the process runs. Opening that link reaches the running inode even when the
 * path now names another file (replaced after exec) or none (deleted), so the hash is the hash of
 * what runs, not of whatever sits at the path when the agent looks.
 *
 * Hashing a large binary for every call would cost more than the rest of the Workload API call put
 * together, so digests are kept per file version: device, inode, size, mtime and ctime. ctime moves
 * on every change to the file and cannot be set back by its owner, so a rewritten binary is always
 * hashed again.
 */
import { createHash } from 'node:crypto';
import { open, readlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../../../spiffe/errors.js';
import { UNIX } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';

const MAX_CACHED_DIGESTS = 256;
const CHUNK_BYTES = 1024 * 1024;

const unavailable = (message: string, cause: unknown): WorkloadAttestorError =>
  new WorkloadAttestorError(UNIX, WorkloadAttestorErrorCode.unavailable, `${message}: ${messageOf(cause)}`, { cause });

/**
 * The executable's path: what readlink on /proc/<pid>/exe gives, as SPIRE's path selector does. The
 * kernel resolves it from the agent's root, so a workload in another mount namespace shows the path
 * its binary has on the agent's side.
 */
export async function executablePath(procRoot: string, pid: number): Promise<string> {
  const link = join(procRoot, String(pid), 'exe');
  try {
    return await readlink(link);
  } catch (err) {
    throw unavailable(`cannot read the executable path of process ${pid} (${link})`, err);
  }
}

export class DigestCache {
  readonly #digests = new Map<string, string>();
  readonly #inFlight = new Map<string, Promise<string>>();
  /** Files read and hashed (cache misses), for tests. */
  hashed = 0;

  /**
   * The hex SHA-256 of the process's executable. `sizeLimit` > 0 refuses larger files (SPIRE's
   * workload_size_limit; 0 means no limit, and the caller does not ask when it is negative).
   */
  async sha256(procRoot: string, pid: number, sizeLimit: number): Promise<string> {
    const link = join(procRoot, String(pid), 'exe');
    let handle;
    try {
      handle = await open(link, 'r');
    } catch (err) {
      throw unavailable(`cannot open the executable of process ${pid} (${link})`, err);
    }
    try {
      const st = await handle.stat({ bigint: true });
      if (sizeLimit > 0 && st.size > BigInt(sizeLimit)) {
        throw new WorkloadAttestorError(
          UNIX,
          WorkloadAttestorErrorCode.refused,
          `the executable of process ${pid} is ${st.size} bytes, over the workload size limit of ${sizeLimit} bytes`,
        );
      }
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      const known = this.#digests.get(key);
      if (known !== undefined) {
        this.#digests.delete(key); // re-inserted below: Map order is the LRU order
        this.#digests.set(key, known);
        return known;
      }
      // Many callers running one binary arrive together (a fleet of replicas starting): hash once.
      let pending = this.#inFlight.get(key);
      if (pending === undefined) {
        const h = handle;
        this.hashed++;
        pending = hashHandle(h).finally(() => this.#inFlight.delete(key));
        this.#inFlight.set(key, pending);
        handle = undefined; // hashHandle closes it
      }
      const digest = await pending;
      this.#remember(key, digest);
      return digest;
    } catch (err) {
      if (err instanceof WorkloadAttestorError) throw err;
      throw unavailable(`cannot hash the executable of process ${pid}`, err);
    } finally {
      await handle?.close();
    }
  }

  #remember(key: string, digest: string): void {
    this.#digests.set(key, digest);
    if (this.#digests.size > MAX_CACHED_DIGESTS) {
      const oldest = this.#digests.keys().next().value;
      if (oldest !== undefined) this.#digests.delete(oldest);
    }
  }
}

async function hashHandle(handle: FileHandle): Promise<string> {
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(buf, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
    return hash.digest('hex');
  } finally {
    await handle.close();
  }
}
