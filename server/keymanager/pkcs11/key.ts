/**
 * A key in the token as a ManagedKey, and its Signer. The data is hashed here and the token signs
 * the digest with the plain mechanisms (CKM_ECDSA, CKM_RSA_PKCS over a DigestInfo): every PKCS#11
 * module has those, where the combined hash-and-sign ones (CKM_ECDSA_SHA384…) are often missing.
 * The object handle is cached per connection and found again by label and CKA_ID after a
 * reconnect, never carried over.
 */
import { createHash, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { ecdsaP1363ToDer, type SignatureAlgorithm, type Signer } from '../../../spiffe/x509svid/signer.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import type { KeyType, ManagedKey } from '../key-manager.js';
import { isStaleHandle } from './errors.js';
import { PKCS11_TYPE, type Pkcs11 } from './module.js';
import { keyObject, type TokenKey } from './objects.js';
import type { Connection, SessionPool } from './session-pool.js';

const ALGORITHM: Readonly<Record<KeyType, SignatureAlgorithm>> = {
  'ec-p256': 'ecdsa-with-SHA256',
  'ec-p384': 'ecdsa-with-SHA384',
  'rsa-2048': 'sha256WithRSAEncryption',
};
const DIGEST: Readonly<Record<KeyType, 'sha256' | 'sha384'>> = { 'ec-p256': 'sha256', 'ec-p384': 'sha384', 'rsa-2048': 'sha256' };
/** RFC 8017 9.2 note 1: the DER DigestInfo prefix for SHA-256, which CKM_RSA_PKCS expects before the hash. */
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');
const SIGNATURE_BYTES: Readonly<Record<KeyType, number>> = { 'ec-p256': 64, 'ec-p384': 96, 'rsa-2048': 256 };

/**
 * `pkcs11:token=sigil-ca;object=sigil-x509-CA-A;type=private` (RFC 7512). A token chosen by slot
 * index says `slot-index=N`: RFC 7512's `slot-id` is the slot's ID, which SoftHSM changes at init.
 */
export function keyLocation(token: { tokenLabel?: string; slot?: number }, label: string): string {
  const where = token.tokenLabel !== undefined ? `token=${encodeURIComponent(token.tokenLabel)}` : `slot-index=${token.slot ?? 0}`;
  return `pkcs11:${where};object=${encodeURIComponent(label)};type=private`;
}

export class Pkcs11Key implements ManagedKey {
  readonly keyType: KeyType;
  readonly publicKey: KeyObject;
  readonly #pool: SessionPool;
  readonly #label: string;
  readonly #ckaId: Buffer;
  #handle: { generation: number; handle: Buffer } | undefined;
  #signer: Signer | undefined;

  constructor(
    readonly id: string,
    readonly location: string,
    pool: SessionPool,
    found: TokenKey,
    generation: number,
  ) {
    this.keyType = found.keyType;
    this.publicKey = found.publicKey;
    this.#pool = pool;
    this.#label = found.label;
    this.#ckaId = found.ckaId;
    this.#handle = { generation, handle: found.privateHandle };
  }

  /** True when `other` is the same token key (same label and CKA_ID). */
  sameAs(other: TokenKey): boolean {
    return this.#label === other.label && this.#ckaId.equals(other.ckaId);
  }

  signer(): Signer {
    return (this.#signer ??= {
      algorithm: ALGORITHM[this.keyType],
      sign: (data) => this.#sign(data),
    });
  }

  async #sign(data: Uint8Array): Promise<Uint8Array> {
    const digest = createHash(DIGEST[this.keyType]).update(data).digest();
    const rsa = this.keyType === 'rsa-2048';
    const input = rsa ? Buffer.concat([SHA256_DIGEST_INFO, digest]) : digest;
    const mechanism = { mechanism: rsa ? pkcs11js.CKM_RSA_PKCS : pkcs11js.CKM_ECDSA };
    const signature = await this.#pool.run(`sign with ${this.location}`, async (lib, session, conn) => {
      let handle = this.#handleIn(lib, session, conn);
      try {
        lib.C_SignInit(session, mechanism, handle);
      } catch (err) {
        if (!isStaleHandle(err)) throw err;
        // The cached handle outlived its object: find the key again (or learn it was replaced).
        this.#handle = undefined;
        handle = this.#handleIn(lib, session, conn);
        lib.C_SignInit(session, mechanism, handle);
      }
      return lib.C_SignAsync(session, input, Buffer.alloc(SIGNATURE_BYTES[this.keyType]));
    });
    return rsa ? signature : ecdsaP1363ToDer(signature);
  }

  #handleIn(lib: Pkcs11, session: Buffer, conn: Connection): Buffer {
    if (this.#handle?.generation === conn.generation) return this.#handle.handle;
    const handle = keyObject(lib, session, pkcs11js.CKO_PRIVATE_KEY, this.#label, this.#ckaId);
    if (handle === undefined) {
      // A token that went away finds nothing too: only a token that answers proves the key is gone.
      lib.C_GetTokenInfo(conn.slot);
      throw new KeyManagerError(
        PKCS11_TYPE,
        KeyManagerErrorCode.unavailable,
        `cannot sign with ${this.location}: the key (CKA_ID ${this.#ckaId.toString('hex')}) is no longer in the token; it was replaced or deleted`,
      );
    }
    this.#handle = { generation: conn.generation, handle };
    return handle;
  }
}
