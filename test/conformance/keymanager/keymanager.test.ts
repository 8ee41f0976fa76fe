/** The KeyManager conformance suite, run against every built-in. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { Pkcs11KeyManager } from '../../../server/keymanager/pkcs11/pkcs11.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';
import { keyManagerSuite } from './keymanager.suite.js';

keyManagerSuite('memory', { open: async () => new MemoryKeyManager() });

let dir: string | undefined;
keyManagerSuite('disk', {
  open: () => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-km-'));
    return DiskKeyManager.open({ keysPath: join(dir, 'keys', 'keys.json') });
  },
  cleanup: async () => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  },
});

// A token per run of the suite; each test's keys live under their own label prefix, so a test
// sees none of the previous one's keys, and deleting them is cleanup, not a test requirement.
let token: SoftHsmToken | undefined;
let undoEnv: (() => void) | undefined;
let run = 0;
describe('pkcs11 (SoftHSM2 token)', () => {
  before(() => {
    token = createSoftHsmToken({ label: 'sigil-conformance' });
    undoEnv = token.useInProcess();
  });
  after(() => {
    undoEnv?.();
    token?.cleanup();
  });
  keyManagerSuite('pkcs11', {
    open: () => Pkcs11KeyManager.open(token!.keyManagerConfig({ keyLabelPrefix: `t${++run}` })),
  });
});
