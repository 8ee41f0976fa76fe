/**
 * The `unix` workload attestor: who the calling process runs as, and optionally which binary it
 * runs. Selectors, as SPIRE's unix plugin names them:
 *   uid:<euid>  user:<name>  gid:<egid>  group:<name>
 *   supplementary_gid:<gid>  supplementary_group:<name>   (one each per supplementary group)
 *   path:<executable>  sha256:<hex>                        (only with discoverWorkloadPath)
 * Names come only when /etc/passwd or /etc/group lists the ID. The path and the hash cost I/O on
 * every call (a readlink, and a read of the whole binary the first time it is seen), which is why
 * they are off unless configured.
 */
import { UNIX } from '../builtins.js';
import type { PeerCredentials, Selector, WorkloadAttestor } from '../workload-attestor.js';
import { AccountFile } from './accounts.js';
import { DigestCache, executablePath } from './binary.js';
import { readProcessCredentials } from './proc-status.js';

export interface UnixAttestorConfig {
  /** Add `path` and `sha256` selectors. Default false, as in SPIRE (discover_workload_path). */
  discoverWorkloadPath?: boolean;
  /**
   * Bytes; a binary larger than this fails attestation rather than being hashed. 0 (the default,
   * as in SPIRE) means no limit; a negative value means never hash (no `sha256` selector).
   */
  workloadSizeLimit?: number;
}

/** Where the attestor reads the system's state; tests point it at prepared files. */
export interface UnixAttestorFiles {
  procRoot?: string;
  passwdFile?: string;
  groupFile?: string;
}

export class UnixWorkloadAttestor implements WorkloadAttestor {
  readonly type = UNIX;
  readonly #discoverPath: boolean;
  readonly #sizeLimit: number;
  readonly #procRoot: string;
  readonly #users: AccountFile;
  readonly #groups: AccountFile;
  readonly #digests = new DigestCache();

  constructor(config: UnixAttestorConfig = {}, files: UnixAttestorFiles = {}) {
    const limit = config.workloadSizeLimit ?? 0;
    if (!Number.isSafeInteger(limit)) {
      throw new TypeError(`workloadattestor(unix): workloadSizeLimit must be an integer number of bytes, got ${limit}`);
    }
    this.#discoverPath = config.discoverWorkloadPath ?? false;
    this.#sizeLimit = limit;
    this.#procRoot = files.procRoot ?? '/proc';
    this.#users = new AccountFile(files.passwdFile ?? '/etc/passwd');
    this.#groups = new AccountFile(files.groupFile ?? '/etc/group');
  }

  // The kernel's connect-time credentials are not used: /proc gives the ones the process has at the
  // time of the call, which is when its entitlement is decided (a server that drops root after
  // opening its Workload API connection gets the dropped user's identities).
  async attest(pid: number, _peer: PeerCredentials): Promise<Selector[]> {
    const creds = readProcessCredentials(this.#procRoot, pid);
    const [user, group, groupNames] = await Promise.all([
      this.#users.nameOf(creds.euid),
      this.#groups.nameOf(creds.egid),
      Promise.all(creds.groups.map((g) => this.#groups.nameOf(g))),
    ]);
    const values: string[] = [`uid:${creds.euid}`];
    if (user !== undefined) values.push(`user:${user}`);
    values.push(`gid:${creds.egid}`);
    if (group !== undefined) values.push(`group:${group}`);
    for (const g of creds.groups) values.push(`supplementary_gid:${g}`);
    for (const name of groupNames) if (name !== undefined) values.push(`supplementary_group:${name}`);
    if (this.#discoverPath) {
      values.push(`path:${await executablePath(this.#procRoot, pid)}`);
      if (this.#sizeLimit >= 0) values.push(`sha256:${await this.#digests.sha256(this.#procRoot, pid, this.#sizeLimit)}`);
    }
    return [...new Set(values)].map((value) => ({ type: UNIX, value }));
  }
}
