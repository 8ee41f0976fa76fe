/**
 * swtpm for tests, through the repository's swtpm/ scripts: provision a state directory (EK
 * certificates from a manufacturer CA of the test's choosing), start it on free loopback ports,
 * stop it by pid. Every instance a test makes is stopped by stopAll() in an after hook.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive } from './process.js';
import { REPO_ROOT } from './shared.js';

const run = promisify(execFile);
const SCRIPTS = join(REPO_ROOT, 'swtpm');

async function listen(port: number): Promise<ReturnType<typeof createServer> | undefined> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

/** A free port P with P+1 free too: tcti-swtpm dials the control port at P+1. */
async function freePortPair(): Promise<number> {
  for (;;) {
    const a = (await listen(0))!;
    const port = (a.address() as { port: number }).port;
    const b = port < 65535 ? await listen(port + 1) : undefined;
    await new Promise((resolve) => a.close(resolve));
    if (b !== undefined) {
      await new Promise((resolve) => b.close(resolve));
      return port;
    }
  }
}

export class Swtpm {
  port = 0;
  #pid: number | undefined;

  private constructor(readonly dir: string) {}

  /** Provisions `dir`; `localca` shares a manufacturer CA between TPMs (default: the TPM's own). */
  static async provision(dir: string, localca?: string): Promise<Swtpm> {
    await run(join(SCRIPTS, 'provision.sh'), [dir, ...(localca === undefined ? [] : ['--localca', localca])]);
    return new Swtpm(dir);
  }

  /** The manufacturer CA bundle (issuer + root) a server trusts for this TPM's EK certificates. */
  get ekCaBundle(): string {
    return join(this.dir, 'ek-ca.pem');
  }

  get tcti(): string {
    return `swtpm:host=127.0.0.1,port=${this.port}`;
  }

  ekCert(alg: 'rsa' | 'ecc'): Buffer {
    return readFileSync(join(this.dir, 'ekcerts', alg === 'rsa' ? 'ek-rsa2048.crt' : 'ek-secp384r1.crt'));
  }

  /** Starts on free ports; another process may take a port between the probe and the bind, so it retries. */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const port = await freePortPair();
      try {
        await run(join(SCRIPTS, 'start.sh'), [this.dir, String(port)]);
        this.port = port;
        this.#pid = Number(readFileSync(join(this.dir, 'swtpm.pid'), 'utf8').trim());
        return;
      } catch (err) {
        if (attempt >= 3) throw err;
      }
    }
  }

  /** Stops it by pid (stop.sh), and by the pid remembered at start should its directory be gone. */
  async stop(): Promise<void> {
    const pid = this.#pid;
    this.#pid = undefined;
    if (pid === undefined) return;
    if (existsSync(this.dir)) await run(join(SCRIPTS, 'stop.sh'), [this.dir]);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }

  /** TPM2_PCR_Extend of `bank`:`index` with a digest of `hex` (tpm2-tools). */
  async extendPcr(index: number, hex: string, bank = 'sha256'): Promise<void> {
    await run('tpm2_pcrextend', [`${index}:${bank}=${hex}`], { env: this.#toolsEnv() });
  }

  /** TPM2_PCR_Reset: only the debug PCR 16 and 23 can be reset. */
  async resetPcr(index: number): Promise<void> {
    await run('tpm2_pcrreset', [String(index)], { env: this.#toolsEnv() });
  }

  /** The transient objects and sessions loaded now (tpm2_getcap): swtpm has no resource manager to flush them. */
  async loadedHandles(): Promise<string[]> {
    const out: string[] = [];
    for (const cap of ['handles-transient', 'handles-loaded-session']) {
      const r = await run('tpm2_getcap', [cap], { env: this.#toolsEnv() });
      out.push(...r.stdout.split('\n').filter((l) => l.trim().startsWith('-')).map((l) => `${cap} ${l.trim().slice(1).trim()}`));
    }
    return out;
  }

  #toolsEnv(): NodeJS.ProcessEnv {
    return { ...process.env, TPM2TOOLS_TCTI: this.tcti, TSS2_LOG: 'all+none' };
  }
}
