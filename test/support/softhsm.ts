/**
 * A real SoftHSM2 token for tests, in a temporary directory of its own: its own softhsm2.conf
 * (SOFTHSM2_CONF) and token directory, so no test touches the system's tokens or another test's.
 *
 * SoftHSM reads SOFTHSM2_CONF when the module is initialized. A child process gets `env`; a test
 * using the token in-process calls useInProcess() first (one SoftHSM configuration per process at
 * a time: the module is shared process-wide and finalized when its last key manager closes).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pkcs11KeyManagerConfig } from '../../server/keymanager/pkcs11/pkcs11.js';

export const SOFTHSM_MODULE = process.env['SIGIL_TEST_SOFTHSM_MODULE'] ?? '/usr/lib/softhsm/libsofthsm2.so';

export type Pkcs11Config = { type: 'pkcs11' } & Pkcs11KeyManagerConfig;

export interface SoftHsmToken {
  readonly dir: string;
  readonly module: string;
  readonly tokenLabel: string;
  /** The user PIN: random, so a test can look for it in output. */
  readonly pin: string;
  /** A file holding the PIN (mode 0600). */
  readonly pinFile: string;
  readonly conf: string;
  /** What a process loading the module needs: SOFTHSM2_CONF. */
  readonly env: { SOFTHSM2_CONF: string };
  /** `ca.keyManager` for this token (pinFile, prefix `sigil`), with `overrides`. */
  keyManagerConfig(overrides?: Partial<Pkcs11KeyManagerConfig>): Pkcs11Config;
  /** The same as a YAML config file's `ca:` section. */
  caYaml(overrides?: Partial<Pkcs11KeyManagerConfig>): string;
  /** Points this process's SOFTHSM2_CONF at the token; returns the undo. */
  useInProcess(): () => void;
  /** Takes the token away (its directory moved aside), as an unplugged HSM; restore() puts it back. */
  remove(): void;
  restore(): void;
  /** Runs pkcs11-tool against this token's module and configuration. */
  pkcs11Tool(...args: string[]): SpawnSyncReturns<string>;
  cleanup(): void;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
}

export function createSoftHsmToken(options: { label?: string } = {}): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-softhsm-'));
  const tokens = join(dir, 'tokens');
  const away = join(dir, 'removed');
  mkdirSync(tokens, { mode: 0o700 });
  mkdirSync(away, { mode: 0o700 });
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`);
  const env = { SOFTHSM2_CONF: conf };
  const tokenLabel = options.label ?? 'sigil-test';
  const pin = `pin-${randomBytes(8).toString('hex')}`;
  const init = run('softhsm2-util', ['--init-token', '--free', '--label', tokenLabel, '--so-pin', `so-${pin}`, '--pin', pin], env);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`softhsm2-util --init-token failed (${init.status}): ${init.stderr}${init.stdout}`);
  }
  const pinFile = join(dir, 'pin');
  writeFileSync(pinFile, `${pin}\n`, { mode: 0o600 });

  const keyManagerConfig = (overrides: Partial<Pkcs11KeyManagerConfig> = {}): Pkcs11Config => ({
    type: 'pkcs11', module: SOFTHSM_MODULE, tokenLabel, pinFile, keyLabelPrefix: 'sigil', ...overrides,
  });
  const moved = (from: string, to: string): void => {
    for (const name of readdirSync(from)) renameSync(join(from, name), join(to, name));
  };
  return {
    dir, module: SOFTHSM_MODULE, tokenLabel, pin, pinFile, conf, env,
    keyManagerConfig,
    caYaml(overrides = {}) {
      const { type, ...km } = keyManagerConfig(overrides);
      const lines = Object.entries(km).filter(([, v]) => v !== undefined).map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`);
      return `ca:\n  keyManager:\n    type: ${type}\n${lines.join('\n')}\n`;
    },
    useInProcess() {
      const before = process.env['SOFTHSM2_CONF'];
      process.env['SOFTHSM2_CONF'] = conf;
      return () => {
        if (before === undefined) delete process.env['SOFTHSM2_CONF'];
        else process.env['SOFTHSM2_CONF'] = before;
      };
    },
    remove: () => moved(tokens, away),
    restore: () => moved(away, tokens),
    pkcs11Tool: (...args) => run('pkcs11-tool', ['--module', SOFTHSM_MODULE, ...args], env),
    cleanup() {
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    },
  };
}
