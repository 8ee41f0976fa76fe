/** The KeyManager conformance suite, run against every built-in. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
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
