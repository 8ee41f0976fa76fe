/**
 * The agent's state on disk: `<dataDir>/agent-svid.json` (0600, in a 0700 directory) holds its
 * SVID chain, private key, the latest trust bundle and whether it can re-attest, so a restart
 * reuses a valid SVID instead of attesting again (a join token works once) and trusts the server
 * with the newest bundle rather than the bootstrap one. Writes go to a temporary file renamed over
 * the old one, so a crash leaves the old state or the new one, never half of either.
 */
import { createPrivateKey } from 'node:crypto';
import { chmod, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { messageOf } from '../../spiffe/errors.js';
import type { Logger } from '../logger.js';
import type { AgentSvid } from './agent-svid.js';

export const AGENT_SVID_FILE = 'agent-svid.json';

const FORMAT = 1;

export interface StoredState {
  trustDomain: string;
  svid: AgentSvid;
  /** The SPIFFE bundle JSON last received. */
  bundleJson: string;
}

interface FileShape {
  format: number;
  trustDomain: string;
  agentId: string;
  svidChain: string[];
  privateKey: string;
  reattestable: boolean;
  expiresAt: number;
  issuedAtMs: number;
  bundle: string;
}

export class AgentStateStore {
  readonly path: string;
  readonly #dataDir: string;
  readonly #logger: Logger;
  /** Saves run one at a time: a renewal and a bundle change may both write. */
  #writing: Promise<void> = Promise.resolve();

  constructor(dataDir: string, logger: Logger) {
    this.#dataDir = dataDir;
    this.path = join(dataDir, AGENT_SVID_FILE);
    this.#logger = logger;
  }

  /** Creates the data directory 0700; warns when an existing one is open to others. */
  async prepare(): Promise<void> {
    // Parents get the default mode: only the data directory itself is private (the Workload API
    // socket may live in a sibling directory that every local process must reach).
    await mkdir(dirname(this.#dataDir), { recursive: true });
    const created = await mkdir(this.#dataDir, { recursive: true, mode: 0o700 });
    const mode = (await stat(this.#dataDir)).mode & 0o777;
    if (created !== undefined && mode !== 0o700) await chmod(this.#dataDir, 0o700);
    else if (created === undefined && (mode & 0o077) !== 0) {
      this.#logger.warn(
        { dataDir: this.#dataDir, mode: mode.toString(8) },
        `agent: the data directory has mode ${mode.toString(8)}; 0700 keeps other users from the agent's private key`,
      );
    }
  }

  /** The stored state, or undefined when there is none or it cannot be read (the reason is logged). */
  async load(): Promise<StoredState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const f = JSON.parse(text) as FileShape;
      if (f.format !== FORMAT) throw new Error(`format ${String(f.format)} is not ${FORMAT}`);
      return {
        trustDomain: f.trustDomain,
        bundleJson: f.bundle,
        svid: {
          id: f.agentId,
          chain: f.svidChain.map((c) => Buffer.from(c, 'base64')),
          privateKey: createPrivateKey({ key: Buffer.from(f.privateKey, 'base64'), format: 'der', type: 'pkcs8' }),
          reattestable: f.reattestable,
          expiresAt: f.expiresAt,
          issuedAtMs: f.issuedAtMs,
        },
      };
    } catch (err) {
      this.#logger.warn({ path: this.path, err: messageOf(err) }, 'agent: the stored agent SVID cannot be read; attesting anew');
      return undefined;
    }
  }

  save(state: StoredState): Promise<void> {
    const write = this.#writing.then(() => this.#write(state));
    // The next save runs whether or not this one failed; this one's caller sees its failure.
    this.#writing = write.catch(() => undefined);
    return write;
  }

  async #write(state: StoredState): Promise<void> {
    const f: FileShape = {
      format: FORMAT,
      trustDomain: state.trustDomain,
      agentId: state.svid.id,
      svidChain: state.svid.chain.map((c) => c.toString('base64')),
      privateKey: state.svid.privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64'),
      reattestable: state.svid.reattestable,
      expiresAt: state.svid.expiresAt,
      issuedAtMs: state.svid.issuedAtMs,
      bundle: state.bundleJson,
    };
    const tmp = `${this.path}.tmp`;
    await unlink(tmp).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    // 'wx': a file someone else made in between (with other modes) is an error, not reused.
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(f, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, this.path);
  }

  /** Removes the stored SVID (a banned agent's is useless). */
  async remove(): Promise<void> {
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
}
