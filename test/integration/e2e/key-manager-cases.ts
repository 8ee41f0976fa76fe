/**
 * The server key managers the rotation suite runs under, one row each. A row gives the
 * `ca.keyManager` section of the server's YAML for a fresh temp dir, and any environment the
 * server needs (a PKCS#11 module's config file, say); `skip` says why a row cannot run here.
 * Adding a key manager to the suite is adding a row, e.g.
 *   { name: 'pkcs11', setup: (dir) => softHsmKeyManager(dir), skip: softHsmMissing },
 */
import { join } from 'node:path';

export interface KeyManagerSetup {
  /** The `ca.keyManager` section of the server config. */
  keyManager: Record<string, unknown>;
  /** More environment for the server process. */
  env?: NodeJS.ProcessEnv;
}

export interface KeyManagerCase {
  name: string;
  setup(dir: string): KeyManagerSetup | Promise<KeyManagerSetup>;
  /** Why the case cannot run on this machine, or undefined. */
  skip?(): string | undefined;
}

export const KEY_MANAGER_CASES: KeyManagerCase[] = [
  { name: 'memory', setup: () => ({ keyManager: { type: 'memory' } }) },
  { name: 'disk', setup: (dir) => ({ keyManager: { type: 'disk', keysPath: join(dir, 'keys.json') } }) },
];
