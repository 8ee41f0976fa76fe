/**
 * The server key managers the rotation suite runs under, one row each. A row gives the
 * `ca.keyManager` section of the server's YAML for a fresh temp dir, and any environment the
 * server needs (a PKCS#11 module's config file, say); `skip` says why a row cannot run here.
 * Adding a key manager to the suite is adding a row.
 */
import { join } from 'node:path';
import { createSoftHsmToken } from '../../support/softhsm.js';

export interface KeyManagerSetup {
  /** The `ca.keyManager` section of the server config. */
  keyManager: Record<string, unknown>;
  /** More environment for the server process. */
  env?: NodeJS.ProcessEnv;
  /** Removes what setup made outside the case's directory (a token), once the server has stopped. */
  cleanup?(): void;
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
  {
    // Every CA and JWT key of the rotation generated and used inside a real SoftHSM2 token.
    name: 'pkcs11',
    setup: () => {
      const token = createSoftHsmToken({ label: 'sigil-rotation' });
      return { keyManager: { ...token.keyManagerConfig() }, env: token.env, cleanup: () => token.cleanup() };
    },
  },
];
