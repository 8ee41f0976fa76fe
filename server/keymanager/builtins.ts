/**
 * The key managers sigil ships, and the one place that picks one from config. A new built-in
 * (pkcs11) adds a member to KeyManagerConfig, its name to KEY_MANAGER_TYPES and a case below;
 * callers do not change.
 */
import { DiskKeyManager, DISK_TYPE } from './disk/disk.js';
import { KeyManagerError, KeyManagerErrorCode } from './errors.js';
import type { KeyManager } from './key-manager.js';
import { MEMORY_TYPE, MemoryKeyManager } from './memory/memory.js';

export type KeyManagerConfig = { type: typeof MEMORY_TYPE } | { type: typeof DISK_TYPE; keysPath: string };

export type KeyManagerType = KeyManagerConfig['type'];

export const KEY_MANAGER_TYPES: readonly KeyManagerType[] = [MEMORY_TYPE, DISK_TYPE];

/** Opens the key manager `config` names; an unknown type is an error listing the known ones. */
export async function createKeyManager(config: KeyManagerConfig): Promise<KeyManager> {
  switch (config.type) {
    case MEMORY_TYPE:
      return new MemoryKeyManager();
    case DISK_TYPE:
      if (typeof config.keysPath !== 'string' || config.keysPath === '') {
        throw new KeyManagerError(DISK_TYPE, KeyManagerErrorCode.invalid, 'keysPath is required: set it to the keys file path');
      }
      return DiskKeyManager.open(config);
    default: {
      // Config arrives from a file: the type system's promise ends at the parser.
      const type: unknown = (config as { type?: unknown }).type;
      throw new KeyManagerError(
        String(type),
        KeyManagerErrorCode.invalid,
        `unknown key manager type ${JSON.stringify(type)}: use one of ${KEY_MANAGER_TYPES.join(', ')}`,
      );
    }
  }
}
