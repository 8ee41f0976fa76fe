/**
 * Keys kept in one JSON file of PKCS#8 PEM keys (SPIRE's `disk` KeyManager), so a restarted server
 * finds its CA key again. The file is rewritten whole, one change at a time, in the order the
 * changes were asked for; the in-memory view changes only after the file did.
 */
import { resolve } from 'node:path';
import type { KeyManager, KeyType, ManagedKey } from '../key-manager.js';
import { byId, checkGenerateArgs, checkKeyId, closedError, generatePrivateKey, SoftwareKey } from '../software-key.js';
import {
  DISK_TYPE, encodeKeysFile, ensureKeysDirectory, readKeysFile, storedKey, writeKeysFile, type StoredKey,
} from './keys-file.js';

export { DISK_TYPE };

export interface DiskKeyManagerConfig {
  /** The keys file; its directory is created (mode 0700) when missing. */
  keysPath: string;
}

interface Entry {
  readonly stored: StoredKey;
  readonly key: SoftwareKey;
}

export class DiskKeyManager implements KeyManager {
  readonly type = DISK_TYPE;
  readonly keysPath: string;
  #keys: ReadonlyMap<string, Entry>;
  #writes: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(keysPath: string, keys: ReadonlyMap<string, Entry>) {
    this.keysPath = keysPath;
    this.#keys = keys;
  }

  /** Loads the keys file (none yet is fine; a corrupt one is a KeyManagerError naming it). */
  static async open(config: DiskKeyManagerConfig): Promise<DiskKeyManager> {
    const keysPath = resolve(config.keysPath);
    await ensureKeysDirectory(keysPath);
    const keys = new Map<string, Entry>();
    for (const [id, stored] of await readKeysFile(keysPath)) keys.set(id, entry(keysPath, stored));
    return new DiskKeyManager(keysPath, keys);
  }

  async generateKey(id: string, keyType: KeyType): Promise<ManagedKey> {
    this.#checkOpen();
    checkGenerateArgs(this.type, id, keyType);
    // Generated outside the write queue: RSA generation is slow and needs no ordering.
    const e = entry(this.keysPath, storedKey(id, keyType, await generatePrivateKey(keyType)));
    await this.#change((keys) => keys.set(id, e));
    return e.key;
  }

  async getKey(id: string): Promise<ManagedKey | undefined> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    return this.#keys.get(id)?.key;
  }

  async listKeys(): Promise<ManagedKey[]> {
    this.#checkOpen();
    return [...this.#keys.values()].map((e) => e.key).sort(byId);
  }

  async deleteKey(id: string): Promise<boolean> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    let existed = false;
    await this.#change((keys) => (existed = keys.delete(id)));
    return existed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writes;
  }

  /** Applies `edit` to a copy of the keys, writes the copy, then makes it the current view. */
  #change(edit: (keys: Map<string, Entry>) => unknown): Promise<void> {
    // Checked when queued, not when run: close() waits for what was queued before it.
    this.#checkOpen();
    const run = async (): Promise<void> => {
      const next = new Map(this.#keys);
      edit(next);
      await writeKeysFile(this.keysPath, encodeKeysFile([...next.values()].map((e) => e.stored)));
      this.#keys = next;
    };
    const done = this.#writes.then(run);
    this.#writes = done.catch(() => undefined);
    return done;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.type);
  }
}

function entry(keysPath: string, stored: StoredKey): Entry {
  const key = new SoftwareKey(stored.id, stored.keyType, stored.privateKey, `disk:${keysPath}#${stored.id}`);
  return { stored, key };
}
