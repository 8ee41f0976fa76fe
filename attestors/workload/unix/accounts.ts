/**
 * User and group names from /etc/passwd and /etc/group, read as files: getpwuid(3) would ask NSS
 * (LDAP, systemd-homed…) through a native call that blocks the event loop, and shelling out to
 * `id` costs a process per caller. A parsed file is kept until the file changes.
 *
 * A name that is not in the file is not an error: the caller simply gets no user/group selector
 * for it, and its uid/gid selectors still apply.
 */
import { readFile, stat } from 'node:fs/promises';
import { messageOf } from '../../../spiffe/errors.js';
import { UNIX } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';

/** One of /etc/passwd or /etc/group: id → the first name listed with it (as getpwuid answers). */
export class AccountFile {
  readonly path: string;
  #parsed: { key: string; names: ReadonlyMap<number, string> } | undefined;
  /** Callers arriving together share one look at the file instead of a stat each. */
  #current: Promise<ReadonlyMap<number, string>> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async nameOf(id: number): Promise<string | undefined> {
    if (this.#current === undefined) {
      this.#current = this.#names().finally(() => {
        this.#current = undefined;
      });
    }
    return (await this.#current).get(id);
  }

  async #names(): Promise<ReadonlyMap<number, string>> {
    try {
      const st = await stat(this.path, { bigint: true });
      // ctime moves on every write and cannot be set back by a user, so an edit is always seen.
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      if (this.#parsed?.key !== key) this.#parsed = { key, names: parseAccounts(await readFile(this.path, 'utf8')) };
      return this.#parsed.names;
    } catch (err) {
      // A host without the file has no names to give; any other failure is worth reporting.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw new WorkloadAttestorError(UNIX, WorkloadAttestorErrorCode.unavailable, `cannot read ${this.path}: ${messageOf(err)}`, { cause: err });
    }
  }
}

/** `name:password:id:…` lines; comments, blanks, NIS `+`/`-` lines and malformed lines are skipped. */
export function parseAccounts(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const [name, , id] = line.split(':');
    if (name === undefined || name === '' || id === undefined || !/^[0-9]{1,10}$/.test(id)) continue;
    const n = Number(id);
    if (!names.has(n)) names.set(n, name);
  }
  return names;
}
