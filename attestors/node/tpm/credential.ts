/**
 * TPM2_MakeCredential in software, for a server that has no TPM (TPM 2.0 Part 1 §24, KDFa/KDFe
 * §11.4.10, secret sharing Annex B.10.4 for RSA and C.6.4 for ECC). The credential can only be
 * recovered by TPM2_ActivateCredential in the TPM that holds the EK's private key, and only while
 * the object with exactly `name` (the AK) is loaded there.
 *
 * Every hash is the EK's name algorithm and the cipher is the EK's symmetric definition (SHA-256 +
 * AES-128 for the RSA L-1 EK, SHA-384 + AES-256 for the ECC P-384 H-3 EK). Taking the AK's name
 * algorithm instead, as go-tpm's legacy credactivation does, fails for a P-384 EK with a SHA-256 AK.
 */
import { createCipheriv, createECDH, createHmac, createHash, publicEncrypt, randomBytes, constants } from 'node:crypto';
import { curveBytes, publicKeyOf, type TpmPublic } from './public-area.js';
import { hashName, TPM_ALG, WireWriter } from './wire.js';

export interface Credential {
  /** TPM2B_ID_OBJECT, wire format. */
  credentialBlob: Uint8Array;
  /** TPM2B_ENCRYPTED_SECRET, wire format. */
  encryptedSecret: Uint8Array;
}

type Hash = 'sha256' | 'sha384' | 'sha512';

const label = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');

/** SP 800-108 counter-mode KDF with HMAC: the TPM's KDFa. */
export function kdfa(hash: Hash, key: Uint8Array, name: string, contextU: Uint8Array, contextV: Uint8Array, bits: number): Buffer {
  const out: Buffer[] = [];
  const size = createHash(hash).digest().length;
  const tail = Buffer.concat([label(name), contextU, contextV, new WireWriter().u32(bits).finish()]);
  for (let counter = 1; out.length * size * 8 < bits; counter++) {
    out.push(createHmac(hash, key).update(new WireWriter().u32(counter).finish()).update(tail).digest());
  }
  return Buffer.concat(out).subarray(0, Math.ceil(bits / 8));
}

/** SP 800-56A concatenation KDF: the TPM's KDFe, for the ECC seed. */
export function kdfe(hash: Hash, z: Uint8Array, name: string, partyU: Uint8Array, partyV: Uint8Array, bits: number): Buffer {
  const out: Buffer[] = [];
  const size = createHash(hash).digest().length;
  for (let counter = 1; out.length * size * 8 < bits; counter++) {
    out.push(createHash(hash).update(new WireWriter().u32(counter).finish()).update(z).update(label(name)).update(partyU).update(partyV).digest());
  }
  return Buffer.concat(out).subarray(0, Math.ceil(bits / 8));
}

/** Wraps `secret` (at most the EK name hash's size) for the object named `name` under `ek`. */
export function makeCredential(ek: TpmPublic, name: Uint8Array, secret: Uint8Array): Credential {
  const hash = hashName(ek.nameAlg) as Hash;
  const hashSize = createHash(hash).digest().length;
  if (secret.length > hashSize) throw new RangeError(`a credential holds at most ${hashSize} bytes`);
  if (ek.symmetric.algorithm !== TPM_ALG.AES || ek.symmetric.mode !== TPM_ALG.CFB) {
    throw new RangeError('the EK has no AES-CFB symmetric definition, so it cannot protect credentials');
  }
  const { seed, encrypted } = ek.type === 'rsa' ? rsaSeed(ek, hash, hashSize) : eccSeed(ek, hash, hashSize);
  const symKey = kdfa(hash, seed, 'STORAGE', name, new Uint8Array(0), ek.symmetric.keyBits);
  const cipher = createCipheriv(`aes-${ek.symmetric.keyBits}-cfb`, symKey, Buffer.alloc(16));
  const encIdentity = Buffer.concat([cipher.update(new WireWriter().sized(secret).finish()), cipher.final()]);
  const hmacKey = kdfa(hash, seed, 'INTEGRITY', new Uint8Array(0), new Uint8Array(0), hashSize * 8);
  const outerHmac = createHmac(hash, hmacKey).update(encIdentity).update(name).digest();
  const idObject = new WireWriter().sized(outerHmac).bytes(encIdentity).finish();
  return { credentialBlob: new WireWriter().sized(idObject).finish(), encryptedSecret: new WireWriter().sized(encrypted).finish() };
}

function rsaSeed(ek: TpmPublic, hash: Hash, hashSize: number): { seed: Buffer; encrypted: Buffer } {
  const seed = randomBytes(hashSize);
  const encrypted = publicEncrypt(
    { key: publicKeyOf(ek), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, oaepLabel: label('IDENTITY') },
    seed,
  );
  return { seed, encrypted };
}

/** One-pass Diffie-Hellman with an ephemeral key on the EK's curve (Part 1 Annex C.6.4). */
function eccSeed(ek: TpmPublic & { type: 'ecc' }, hash: Hash, hashSize: number): { seed: Buffer; encrypted: Buffer } {
  const size = curveBytes(ek.curve);
  const ecdh = createECDH(size === 48 ? 'secp384r1' : 'prime256v1');
  const ephemeral = ecdh.generateKeys();
  const z = ecdh.computeSecret(Buffer.concat([Buffer.of(4), pad(ek.x, size), pad(ek.y, size)]));
  const xEph = ephemeral.subarray(1, 1 + size);
  const yEph = ephemeral.subarray(1 + size);
  const seed = kdfe(hash, z, 'IDENTITY', xEph, pad(ek.x, size), hashSize * 8);
  return { seed, encrypted: Buffer.from(new WireWriter().sized(xEph).sized(yEph).finish()) };
}

function pad(b: Uint8Array, size: number): Buffer {
  return Buffer.concat([Buffer.alloc(Math.max(0, size - b.length)), b]);
}
