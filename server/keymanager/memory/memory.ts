/**
 * Keys that live only as long as the process: every server start creates a new CA (SPIRE's
 * `memory` KeyManager). For tests, development and servers whose agents can re-attest.
 */
import type { KeyManager, KeyType, ManagedKey } from '../key-manager.js';
import { byId, checkGenerateArgs, checkKeyId, closedError, generatePrivateKey, SoftwareKey } from '../software-key.js';

export const MEMORY_TYPE = 'memory';

export class MemoryKeyManager implements KeyManager {
  readonly type = MEMORY_TYPE;
  readonly #keys = new Map<string, SoftwareKey>();
  #closed = false;

  async generateKey(id: string, keyType: KeyType): Promise<ManagedKey> {
    this.#checkOpen();
    checkGenerateArgs(this.type, id, keyType);
    const key = new SoftwareKey(id, keyType, await generatePrivateKey(keyType), `memory:${id}`);
    this.#checkOpen();
    this.#keys.set(id, key);
    return key;
  }

  async getKey(id: string): Promise<ManagedKey | undefined> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    return this.#keys.get(id);
  }

  async listKeys(): Promise<ManagedKey[]> {
    this.#checkOpen();
    return [...this.#keys.values()].sort(byId);
  }

  async deleteKey(id: string): Promise<boolean> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    return this.#keys.delete(id);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#keys.clear();
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.type);
  }
}
