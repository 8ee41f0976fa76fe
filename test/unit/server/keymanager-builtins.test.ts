import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKeyManager, KEY_MANAGER_TYPES, type KeyManagerConfig } from '../../../server/keymanager/builtins.js';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';

describe('keymanager builtins', () => {
  it('lists the built-in types', () => {
    assert.deepEqual(KEY_MANAGER_TYPES, ['memory', 'disk', 'pkcs11']);
  });

  it('opens the key manager the config names', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-km-builtins-'));
    try {
      const memory = await createKeyManager({ type: 'memory' });
      assert.ok(memory instanceof MemoryKeyManager);
      const disk = await createKeyManager({ type: 'disk', keysPath: join(dir, 'keys.json') });
      assert.ok(disk instanceof DiskKeyManager);
      assert.equal(disk.type, 'disk');
      await Promise.all([memory.close(), disk.close()]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown type', { type: 'pkcs12' }, /^keymanager\(pkcs12\): unknown key manager type "pkcs12": use one of memory, disk, pkcs11$/],
    ['a disk config without keysPath', { type: 'disk' }, /^keymanager\(disk\): keysPath is required/],
    ['a pkcs11 config without a token', { type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', pinEnv: 'PIN' }, /^keymanager\(pkcs11\): set exactly one of tokenLabel and slot$/],
    ['a pkcs11 config without a PIN source', { type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', slot: 0 }, /^keymanager\(pkcs11\): set exactly one of pinFile and pinEnv$/],
    ['a pkcs11 module that does not load', { type: 'pkcs11', module: '/nonexistent/libp11.so', slot: 0, pinEnv: 'PATH' }, /^keymanager\(pkcs11\): cannot load the PKCS#11 module \/nonexistent\/libp11.so: /],
  ];
  for (const [name, config, message] of bad) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(createKeyManager(config as KeyManagerConfig), (err: unknown) => {
        assert.ok(err instanceof KeyManagerError);
        assert.equal(err.code, KeyManagerErrorCode.invalid);
        assert.match(err.message, message);
        return true;
      });
    });
  }
});
