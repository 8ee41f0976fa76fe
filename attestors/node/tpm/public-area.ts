/**
 * TPMT_PUBLIC: the public area of a TPM key, as the TPM marshals it. Parsed here to check what a key
 * is (an EK that decrypts, an AK that is restricted to signing TPM-made data), to compute its Name
 * (the hash the credential is bound to), and to turn it into a Node public key. The agent builds its
 * EK and AK templates here too, so both halves agree on them byte for byte.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { hashName, TPM_ALG, TPM_ECC_CURVE, WireError, WireReader, WireWriter } from './wire.js';

export const OBJECT_ATTR = {
  fixedTPM: 0x00000002,
  fixedParent: 0x00000010,
  sensitiveDataOrigin: 0x00000020,
  userWithAuth: 0x00000040,
  adminWithPolicy: 0x00000080,
  restricted: 0x00010000,
  decrypt: 0x00020000,
  sign: 0x00040000,
} as const;

export interface SymmetricDef {
  /** TPM_ALG_NULL or AES. */
  algorithm: number;
  keyBits: number;
  mode: number;
}

interface CommonPublic {
  nameAlg: number;
  attributes: number;
  authPolicy: Uint8Array;
  symmetric: SymmetricDef;
  /** The signing or encryption scheme, TPM_ALG_NULL when the key has none fixed. */
  scheme: number;
  schemeHash: number;
  /** The exact bytes parsed: the Name is their hash. */
  wire: Uint8Array;
}

export interface RsaPublic extends CommonPublic {
  type: 'rsa';
  keyBits: number;
  exponent: number;
  modulus: Uint8Array;
}

export interface EccPublic extends CommonPublic {
  type: 'ecc';
  curve: number;
  x: Uint8Array;
  y: Uint8Array;
}

export type TpmPublic = RsaPublic | EccPublic;

/** Parses one TPMT_PUBLIC that must fill `bytes` exactly. Throws WireError. */
export function parsePublic(bytes: Uint8Array): TpmPublic {
  const r = new WireReader(bytes);
  const type = r.u16('TPMT_PUBLIC.type');
  const nameAlg = r.u16('TPMT_PUBLIC.nameAlg');
  if (hashName(nameAlg) === undefined || nameAlg === TPM_ALG.SHA1) {
    throw new WireError(`TPMT_PUBLIC: name algorithm 0x${nameAlg.toString(16)} is not SHA-256, SHA-384 or SHA-512`);
  }
  const attributes = r.u32('TPMT_PUBLIC.objectAttributes');
  const authPolicy = r.sized('TPMT_PUBLIC.authPolicy');
  const symmetric = readSymmetric(r);
  const scheme = r.u16('scheme');
  const schemeHash = scheme === TPM_ALG.NULL ? TPM_ALG.NULL : r.u16('scheme.hashAlg');
  const common = { nameAlg, attributes, authPolicy, symmetric, scheme, schemeHash, wire: bytes };
  if (type === TPM_ALG.RSA) {
    const keyBits = r.u16('TPMS_RSA_PARMS.keyBits');
    const exponent = r.u32('TPMS_RSA_PARMS.exponent');
    const modulus = r.sized('TPMT_PUBLIC.unique.rsa');
    r.end('TPMT_PUBLIC');
    if (modulus.length * 8 !== keyBits) throw new WireError(`TPMT_PUBLIC: an RSA-${keyBits} key with a ${modulus.length * 8}-bit modulus`);
    return { type: 'rsa', ...common, keyBits, exponent, modulus };
  }
  if (type === TPM_ALG.ECC) {
    const curve = r.u16('TPMS_ECC_PARMS.curveID');
    const kdf = r.u16('TPMS_ECC_PARMS.kdf');
    if (kdf !== TPM_ALG.NULL) r.u16('TPMS_ECC_PARMS.kdf.hashAlg');
    const x = r.sized('TPMS_ECC_POINT.x');
    const y = r.sized('TPMS_ECC_POINT.y');
    r.end('TPMT_PUBLIC');
    if (curveName(curve) === undefined) throw new WireError(`TPMT_PUBLIC: ECC curve 0x${curve.toString(16)} is not NIST P-256 or P-384`);
    return { type: 'ecc', ...common, curve, x, y };
  }
  throw new WireError(`TPMT_PUBLIC: key type 0x${type.toString(16)} is neither RSA nor ECC`);
}

function readSymmetric(r: WireReader): SymmetricDef {
  const algorithm = r.u16('TPMT_SYM_DEF_OBJECT.algorithm');
  if (algorithm === TPM_ALG.NULL) return { algorithm, keyBits: 0, mode: TPM_ALG.NULL };
  return { algorithm, keyBits: r.u16('TPMT_SYM_DEF_OBJECT.keyBits'), mode: r.u16('TPMT_SYM_DEF_OBJECT.mode') };
}

export function curveName(curve: number): 'P-256' | 'P-384' | undefined {
  return curve === TPM_ECC_CURVE.NIST_P256 ? 'P-256' : curve === TPM_ECC_CURVE.NIST_P384 ? 'P-384' : undefined;
}

/** The field size in bytes of a curve sigil accepts. */
export function curveBytes(curve: number): number {
  return curve === TPM_ECC_CURVE.NIST_P384 ? 48 : 32;
}

/** The object's Name: nameAlg (2 bytes) || H_nameAlg(TPMT_PUBLIC). */
export function objectName(pub: TpmPublic): Uint8Array {
  return new WireWriter().u16(pub.nameAlg).bytes(createHash(hashName(pub.nameAlg)!).update(pub.wire).digest()).finish();
}

const b64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');

export function publicKeyOf(pub: TpmPublic): KeyObject {
  if (pub.type === 'rsa') {
    // Exponent 0 in a TPM public area means the default, 65537; JWK wants it without leading zeros.
    const e = new WireWriter().u32(pub.exponent === 0 ? 65537 : pub.exponent).finish();
    const eBytes = e.subarray(e.findIndex((b) => b !== 0));
    return createPublicKey({ key: { kty: 'RSA', n: b64url(pub.modulus), e: b64url(eBytes) }, format: 'jwk' });
  }
  return createPublicKey({ key: { kty: 'EC', crv: curveName(pub.curve)!, x: b64url(pub.x), y: b64url(pub.y) }, format: 'jwk' });
}

/**
 * The EK identity sigil hashes for agent IDs and `tpm:ek-hash`: the DER SubjectPublicKeyInfo of the
 * EK public key (rsaEncryption with the modulus and exponent; id-ecPublicKey with the named curve and
 * the uncompressed point), as Node's `KeyObject.export({ type: 'spki', format: 'der' })` writes it.
 */
export function spkiDer(key: KeyObject): Buffer {
  return key.export({ type: 'spki', format: 'der' });
}

export function ekHash(ek: KeyObject): string {
  return createHash('sha256').update(spkiDer(ek)).digest('hex');
}

// EK policies (TCG EK Credential Profile 2.x): A = PolicySecret(TPM_RH_ENDORSEMENT); the high-range
// templates use B = PolicyOR(A, C) with C = PolicyAuthorizeNV. The values were computed with trial
// sessions on swtpm and B is rebuilt from A and C exactly as the TPM does.
export const POLICY_A_SHA256 = Buffer.from('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa', 'hex');
export const POLICY_A_SHA384 = Buffer.from(
  '8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53', 'hex',
);
export const POLICY_C_SHA384 = Buffer.from(
  'd6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165', 'hex',
);
const TPM_CC_POLICY_OR = 0x00000171;
export const POLICY_B_SHA384 = createHash('sha384')
  .update(Buffer.concat([Buffer.alloc(48), new WireWriter().u32(TPM_CC_POLICY_OR).finish(), POLICY_A_SHA384, POLICY_C_SHA384]))
  .digest();

export type EkAlgorithm = 'rsa' | 'ecc';

const EK_LOW_ATTRS =
  OBJECT_ATTR.fixedTPM | OBJECT_ATTR.fixedParent | OBJECT_ATTR.sensitiveDataOrigin | OBJECT_ATTR.adminWithPolicy | OBJECT_ATTR.restricted | OBJECT_ATTR.decrypt;

/**
 * The EK templates whose certificates TPMs carry: RSA-2048 L-1 (cert at NV 0x01C00002) and ECC
 * NIST P-384 H-3 (cert at NV 0x01C00016; swtpm certifies no P-256 EK). CreatePrimary with them
 * regenerates the very key the certificate is for.
 */
export function ekTemplate(alg: EkAlgorithm): Uint8Array {
  if (alg === 'rsa') {
    return new WireWriter()
      .u16(TPM_ALG.RSA).u16(TPM_ALG.SHA256).u32(EK_LOW_ATTRS).sized(POLICY_A_SHA256)
      .u16(TPM_ALG.AES).u16(128).u16(TPM_ALG.CFB).u16(TPM_ALG.NULL).u16(2048).u32(0)
      .sized(new Uint8Array(256))
      .finish();
  }
  return new WireWriter()
    .u16(TPM_ALG.ECC).u16(TPM_ALG.SHA384).u32(EK_LOW_ATTRS | OBJECT_ATTR.userWithAuth).sized(POLICY_B_SHA384)
    .u16(TPM_ALG.AES).u16(256).u16(TPM_ALG.CFB).u16(TPM_ALG.NULL).u16(TPM_ECC_CURVE.NIST_P384).u16(TPM_ALG.NULL)
    .sized(new Uint8Array(0)).sized(new Uint8Array(0))
    .finish();
}

/** What an AK must be: made in this TPM, never leaving it, signing only data the TPM made (quotes). */
export const AK_REQUIRED_ATTRS =
  OBJECT_ATTR.fixedTPM | OBJECT_ATTR.fixedParent | OBJECT_ATTR.sensitiveDataOrigin | OBJECT_ATTR.restricted | OBJECT_ATTR.sign;

/** An ECC P-256 ECDSA-SHA256 AK: key generation takes milliseconds where RSA takes up to seconds on a chip. */
export function akTemplate(): Uint8Array {
  return new WireWriter()
    .u16(TPM_ALG.ECC).u16(TPM_ALG.SHA256).u32(AK_REQUIRED_ATTRS | OBJECT_ATTR.userWithAuth).sized(new Uint8Array(0))
    .u16(TPM_ALG.NULL).u16(TPM_ALG.ECDSA).u16(TPM_ALG.SHA256).u16(TPM_ECC_CURVE.NIST_P256).u16(TPM_ALG.NULL)
    .sized(new Uint8Array(0)).sized(new Uint8Array(0))
    .finish();
}
