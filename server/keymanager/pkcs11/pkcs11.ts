/**
 * CA and JWT keys inside a PKCS#11 token (an HSM; SoftHSM2 for development and tests): generated
 * there as private, sensitive, never-extractable token objects, found again by label after a
 * restart, and used only through C_Sign. Callers get the public key and a Signer, as from every
 * KeyManager. SPIRE has no such key manager.
 */
import pkcs11js from 'pkcs11js';
import type { Logger } from '../../logger.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import { keyIdProblem, type KeyManager, type KeyManagerHealth, type KeyType, type ManagedKey } from '../key-manager.js';
import { byId, checkGenerateArgs, checkKeyId, closedError } from '../software-key.js';
import { checkConfig, DEFAULT_KEY_LABEL_PREFIX, DEFAULT_SESSIONS, readPin, type Pkcs11KeyManagerConfig } from './config.js';
import { keyLocation, Pkcs11Key } from './key.js';
import { PKCS11_TYPE, SharedModule, type Pkcs11 } from './module.js';
import { generatePair, newest, objectsLabelled, privateKeysUnder, readKey } from './objects.js';
import { SessionPool, type Connection } from './session-pool.js';

export { PKCS11_TYPE };
export type { Pkcs11KeyManagerConfig };

const PROBE = Buffer.from('sigil pkcs11 health probe');

export class Pkcs11KeyManager implements KeyManager {
  readonly type = PKCS11_TYPE;
  readonly #config: Pkcs11KeyManagerConfig;
  readonly #pool: SessionPool;
  readonly #prefix: string;
  /** The keys handed out, by id: what health() proves can sign. */
  readonly #live = new Map<string, Pkcs11Key>();
  /** Generation and deletion of one id happen one at a time, in call order. */
  readonly #changes = new Map<string, Promise<unknown>>();
  #closed = false;

  private constructor(config: Pkcs11KeyManagerConfig, pool: SessionPool) {
    this.#config = config;
    this.#pool = pool;
    this.#prefix = `${config.keyLabelPrefix ?? DEFAULT_KEY_LABEL_PREFIX}-`;
  }

  /** Loads the module, opens sessions on the token and logs in: a missing token or wrong PIN fails here. */
  static async open(config: Pkcs11KeyManagerConfig, options: { logger?: Logger } = {}): Promise<Pkcs11KeyManager> {
    checkConfig(config);
    const pin = await readPin(config);
    const module = SharedModule.acquire(config.module);
    let pool: SessionPool;
    try {
      pool = await SessionPool.open(module, {
        config,
        pin,
        pinSource: config.pinFile !== undefined ? `pinFile ${config.pinFile}` : `environment variable ${config.pinEnv ?? ''}`,
        sessions: config.sessions ?? DEFAULT_SESSIONS,
        logger: options.logger,
      });
    } catch (err) {
      module.release();
      throw err;
    }
    return new Pkcs11KeyManager(config, pool);
  }

  async generateKey(id: string, keyType: KeyType): Promise<ManagedKey> {
    this.#checkOpen();
    checkGenerateArgs(this.type, id, keyType);
    const label = this.#label(id);
    return this.#change(id, async () => {
      const key = await this.#pool.run(`generate key ${id} in ${this.#pool.token}`, async (lib, session, conn) => {
        const ckaId = await generatePair(lib, session, label, keyType);
        const found = readKey(lib, session, label, ckaId);
        if (typeof found !== 'object') throw this.#corrupt(id, found ?? 'the generated key is not in the token');
        // Only once the new pair is there: a failure before this leaves the old key usable.
        for (const o of objectsLabelled(lib, session, label)) if (!o.ckaId.equals(ckaId)) lib.C_DestroyObject(session, o.handle);
        return new Pkcs11Key(id, keyLocation(this.#config, label), this.#pool, found, conn.generation);
      });
      this.#live.set(id, key);
      return key;
    });
  }

  async getKey(id: string): Promise<ManagedKey | undefined> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    const label = this.#label(id);
    return this.#pool.run(`find key ${id} in ${this.#pool.token}`, (lib, session, conn) => {
      const ckaId = newest(objectsLabelled(lib, session, label, pkcs11js.CKO_PRIVATE_KEY).map((o) => o.ckaId));
      return ckaId === undefined ? undefined : this.#keyFor(lib, session, conn, id, label, ckaId);
    });
  }

  async listKeys(): Promise<ManagedKey[]> {
    this.#checkOpen();
    return this.#pool.run(`list keys in ${this.#pool.token}`, (lib, session, conn) => {
      const byLabel = new Map<string, Buffer>();
      for (const k of privateKeysUnder(lib, session, this.#prefix)) {
        const id = k.label.slice(this.#prefix.length);
        const current = byLabel.get(id);
        if (current === undefined || Buffer.compare(k.ckaId, current) > 0) byLabel.set(id, k.ckaId);
      }
      const keys: Pkcs11Key[] = [];
      for (const [id, ckaId] of byLabel) {
        // A label under the prefix that is no key id (set by another tool) is not sigil's.
        if (keyIdProblem(id) === undefined) keys.push(this.#keyFor(lib, session, conn, id, this.#label(id), ckaId));
      }
      return keys.sort(byId);
    });
  }

  async deleteKey(id: string): Promise<boolean> {
    this.#checkOpen();
    checkKeyId(this.type, id);
    const label = this.#label(id);
    return this.#change(id, async () => {
      const deleted = await this.#pool.run(`delete key ${id} in ${this.#pool.token}`, (lib, session) => {
        const objects = objectsLabelled(lib, session, label);
        for (const o of objects) lib.C_DestroyObject(session, o.handle);
        return objects.length > 0;
      });
      this.#live.delete(id);
      return deleted;
    });
  }

  /** Ready when every key handed out can sign now (one probe signature each) or, with none yet, the token answers. */
  async health(): Promise<KeyManagerHealth> {
    if (this.#closed) return { ok: false, detail: 'the key manager is closed' };
    try {
      const keys = [...this.#live.values()];
      if (keys.length === 0) await this.#pool.run(`reach ${this.#pool.token}`, (lib, _s, conn) => lib.C_GetTokenInfo(conn.slot));
      for (const key of keys) await key.signer().sign(PROBE);
      return { ok: true, detail: `${this.#pool.token}, ${this.#pool.sessionCount} sessions, ${keys.length} key(s) sign` };
    } catch (err) {
      const message = (err instanceof Error ? err.message : String(err)).replace(/^keymanager\(pkcs11\): /, '');
      return { ok: false, detail: message.startsWith('cannot sign') ? message : `cannot sign: ${message}` };
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#changes.values());
    this.#live.clear();
    await this.#pool.close();
  }

  #keyFor(lib: Pkcs11, session: Buffer, conn: Connection, id: string, label: string, ckaId: Buffer): Pkcs11Key {
    const live = this.#live.get(id);
    const found = readKey(lib, session, label, ckaId);
    if (found === undefined) throw this.#corrupt(id, 'its private key object vanished while it was read');
    if (typeof found === 'string') throw this.#corrupt(id, found);
    if (live?.sameAs(found)) return live;
    const key = new Pkcs11Key(id, keyLocation(this.#config, label), this.#pool, found, conn.generation);
    this.#live.set(id, key);
    return key;
  }

  #change<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#changes.get(id) ?? Promise.resolve()).then(fn);
    const settled = run.catch(() => undefined);
    this.#changes.set(id, settled);
    void settled.then(() => {
      if (this.#changes.get(id) === settled) this.#changes.delete(id);
    });
    return run;
  }

  #label(id: string): string {
    return `${this.#prefix}${id}`;
  }

  #corrupt(id: string, detail: string): KeyManagerError {
    return new KeyManagerError(
      PKCS11_TYPE,
      KeyManagerErrorCode.corrupt,
      `key ${id} (${keyLocation(this.#config, this.#label(id))}) cannot be used: ${detail}; delete it with pkcs11-tool --delete-object to let sigil make a new one`,
    );
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.type);
  }
}
