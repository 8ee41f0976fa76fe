/**
 * The key managers sigil ships, and the one place that picks one from config. A new built-in
 * (a KMS) adds a member to KeyManagerConfig, its name to KEY_MANAGER_TYPES and a case below;
 * callers do not change.
 */
import { DiskKeyManager, DISK_TYPE } from './disk/disk.js';
import { KeyManagerError, KeyManagerErrorCode } from './errors.js';
import type { KeyManager } from './key-manager.js';
import { MEMORY_TYPE, MemoryKeyManager } from './memory/memory.js';
import { PKCS11_TYPE, Pkcs11KeyManager, type Pkcs11KeyManagerConfig } from './pkcs11/pkcs11.js';
import type { Logger } from '../logger.js';

export type KeyManagerConfig =
  | { type: typeof MEMORY_TYPE }
  | { type: typeof DISK_TYPE; keysPath: string }
  | ({ type: typeof PKCS11_TYPE } & Pkcs11KeyManagerConfig);

export type KeyManagerType = KeyManagerConfig['type'];

export const KEY_MANAGER_TYPES: readonly KeyManagerType[] = [MEMORY_TYPE, DISK_TYPE, PKCS11_TYPE];

/** Opens the key manager `config` names; an unknown type is an error listing the known ones. */
export async function createKeyManager(config: KeyManagerConfig, options: { logger?: Logger } = {}): Promise<KeyManager> {
  switch (config.type) {
    case MEMORY_TYPE:
      return new MemoryKeyManager();
    case DISK_TYPE:
      if (typeof config.keysPath !== 'string' || config.keysPath === '') {
        throw new KeyManagerError(DISK_TYPE, KeyManagerErrorCode.invalid, 'keysPath is required: set it to the keys file path');
      }
      return DiskKeyManager.open(config);
    case PKCS11_TYPE:
      return Pkcs11KeyManager.open(config, options);
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
