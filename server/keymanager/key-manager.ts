/**
 * The KeyManager seam: where the server's CA and JWT signing keys live. Kept to SPIRE's four verbs
 * (GenerateKey, GetPublicKey(s), SignData) so that a key which never leaves its store — a PKCS#11
 * token, later a KMS — fits as well as a key in memory: callers get a public key and a Signer,
 * never the private key.
 */
import type { KeyObject } from 'node:crypto';
import type { Signer } from '../../spiffe/x509svid/signer.js';

/** The key types a KeyManager generates (SPIRE's `ca_key_type` values sigil supports). */
export type KeyType = 'ec-p256' | 'ec-p384' | 'rsa-2048';

export const KEY_TYPES: readonly KeyType[] = ['ec-p256', 'ec-p384', 'rsa-2048'];

export function isKeyType(value: unknown): value is KeyType {
  return typeof value === 'string' && (KEY_TYPES as readonly string[]).includes(value);
}

export interface ManagedKey {
  /** The caller's name for the key, e.g. `x509-CA-A`, `JWT-Signer-A`. */
  readonly id: string;
  readonly keyType: KeyType;
  readonly publicKey: KeyObject;
  /**
   * Where the key lives, for logs and status: `memory:x509-CA-A`,
   * `disk:/var/lib/sigil/keys.json#x509-CA-A`, `pkcs11:token=…;object=…`.
   */
  readonly location: string;
  /**
   * Signs with the key: `sign(data)` hashes `data` with the algorithm's digest and returns the
   * signature in X.509's form (DER ECDSA-Sig-Value, PKCS#1 v1.5 for RSA).
   */
  signer(): Signer;
}

/** Whether a key manager can sign now: a token that went away says so here, not only on the next request. */
export interface KeyManagerHealth {
  ok: boolean;
  /** What was checked, or what is wrong (`cannot sign: …`). */
  detail: string;
}

export interface KeyManager {
  /** The built-in's name, as in config (`memory`, `disk`). */
  readonly type: string;
  /** Generates a key under `id`, replacing any key that had it; resolves once the key is stored. */
  generateKey(id: string, keyType: KeyType): Promise<ManagedKey>;
  getKey(id: string): Promise<ManagedKey | undefined>;
  /** Every key, ordered by id. */
  listKeys(): Promise<ManagedKey[]>;
  /** Removes the key; false when there was none. Optional: a store may keep keys for audit. */
  deleteKey?(id: string): Promise<boolean>;
  /** Optional: a store that can fail while the process runs (a PKCS#11 token) reports here. */
  health?(): Promise<KeyManagerHealth>;
  /** Waits for pending writes and releases resources; later calls fail. */
  close(): Promise<void>;
}

/** Key ids become JSON keys, file fragments and PKCS#11 labels: keep them plain. */
const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Why `id` cannot name a key, or undefined when it can. */
export function keyIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || !KEY_ID.test(id)) {
    return `key id ${JSON.stringify(id)} is invalid: use 1 to 128 characters of [A-Za-z0-9._-], starting with a letter or digit`;
  }
  return undefined;
}
