/**
 * The key pairs in the token: how they are generated and found again. A key is its private and
 * public objects, both labelled `<prefix>-<key id>` and sharing a CKA_ID. Handles are never kept
 * across connections (they change between processes: platform-notes §A.3, pitfall 2); a key is
 * always found again by label and CKA_ID.
 *
 * CKA_ID is 8 bytes of creation time (ms, big-endian) and 8 random bytes, so when a crash left two
 * keys under one label — generateKey makes the new pair before it destroys the old — the newest
 * one wins and the other is removed by the next generation or deletion.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import type { KeyType } from '../key-manager.js';
import type { Pkcs11 } from './module.js';

const EC_PARAMS: Readonly<Record<'ec-p256' | 'ec-p384', { der: Buffer; crv: string; size: number }>> = {
  'ec-p256': { der: Buffer.from('06082a8648ce3d030107', 'hex'), crv: 'P-256', size: 32 },
  'ec-p384': { der: Buffer.from('06052b81040022', 'hex'), crv: 'P-384', size: 48 },
};
const RSA_BITS = 2048;
const RSA_EXPONENT = Buffer.from([1, 0, 1]);

/** What a stored key is, read from the token. */
export interface TokenKey {
  readonly label: string;
  readonly ckaId: Buffer;
  readonly keyType: KeyType;
  readonly publicKey: KeyObject;
  readonly privateHandle: Buffer;
}

export function newCkaId(now = Date.now()): Buffer {
  const id = Buffer.alloc(16);
  id.writeBigUInt64BE(BigInt(now), 0);
  randomBytes(8).copy(id, 8);
  return id;
}

/**
 * Generates the pair inside the token. The private key is a token object, private, sensitive and
 * never extractable (sensitive must be asked for: some libraries default it to false, §A.3 pitfall 1).
 */
export async function generatePair(lib: Pkcs11, session: Buffer, label: string, keyType: KeyType): Promise<Buffer> {
  const ckaId = newCkaId();
  const common: pkcs11js.Template = [
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: ckaId },
  ];
  // A CA key only signs: every other use is turned off (SoftHSM enables decrypt and unwrap by default).
  const publicTemplate: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_PRIVATE, value: false },
    { type: pkcs11js.CKA_VERIFY, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
  ];
  const privateTemplate: pkcs11js.Template = [
    ...common,
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: false },
    { type: pkcs11js.CKA_SIGN, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
    { type: pkcs11js.CKA_DERIVE, value: false },
  ];
  if (keyType === 'rsa-2048') {
    publicTemplate.push({ type: pkcs11js.CKA_MODULUS_BITS, value: RSA_BITS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: RSA_EXPONENT });
    await lib.C_GenerateKeyPairAsync(session, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
  } else {
    publicTemplate.push({ type: pkcs11js.CKA_EC_PARAMS, value: EC_PARAMS[keyType].der });
    await lib.C_GenerateKeyPairAsync(session, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN }, publicTemplate, privateTemplate);
  }
  return ckaId;
}

export function findObjects(lib: Pkcs11, session: Buffer, template: pkcs11js.Template): Buffer[] {
  lib.C_FindObjectsInit(session, template);
  try {
    const found: Buffer[] = [];
    for (;;) {
      const batch = lib.C_FindObjects(session, 64);
      if (batch.length === 0) return found;
      found.push(...batch);
    }
  } finally {
    lib.C_FindObjectsFinal(session);
  }
}

function attribute(lib: Pkcs11, session: Buffer, handle: Buffer, type: number): Buffer {
  const [a] = lib.C_GetAttributeValue(session, handle, [{ type }]);
  const value = a?.value;
  return Buffer.isBuffer(value) ? value : Buffer.alloc(0);
}

/** The labels and CKA_IDs of every private key in the token whose label starts with `prefix`. */
export function privateKeysUnder(lib: Pkcs11, session: Buffer, prefix: string): { label: string; ckaId: Buffer; handle: Buffer }[] {
  return findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
  ])
    .map((handle) => ({
      handle,
      label: attribute(lib, session, handle, pkcs11js.CKA_LABEL).toString('utf8'),
      ckaId: attribute(lib, session, handle, pkcs11js.CKA_ID),
    }))
    .filter((k) => k.label.startsWith(prefix));
}

/** Every token object labelled `label` (of class `cls`, when given), with its CKA_ID. */
export function objectsLabelled(lib: Pkcs11, session: Buffer, label: string, cls?: number): { handle: Buffer; ckaId: Buffer }[] {
  const template: pkcs11js.Template = [{ type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_TOKEN, value: true }];
  if (cls !== undefined) template.push({ type: pkcs11js.CKA_CLASS, value: cls });
  return findObjects(lib, session, template).map((handle) => ({
    handle,
    ckaId: attribute(lib, session, handle, pkcs11js.CKA_ID),
  }));
}

/** The newest of several CKA_IDs (see the module comment). */
export function newest(ids: readonly Buffer[]): Buffer | undefined {
  return ids.reduce<Buffer | undefined>((a, b) => (a === undefined || Buffer.compare(b, a) > 0 ? b : a), undefined);
}

/** The handle of the `cls` object (private or public key) labelled `label` with CKA_ID `ckaId`. */
export function keyObject(lib: Pkcs11, session: Buffer, cls: number, label: string, ckaId: Buffer): Buffer | undefined {
  return findObjects(lib, session, [
    { type: pkcs11js.CKA_CLASS, value: cls },
    { type: pkcs11js.CKA_LABEL, value: label },
    { type: pkcs11js.CKA_ID, value: ckaId },
  ])[0];
}

/** The key labelled `label` with CKA_ID `ckaId`, read from the token; undefined when it is not there. */
export function readKey(lib: Pkcs11, session: Buffer, label: string, ckaId: Buffer): TokenKey | string | undefined {
  const privateHandle = keyObject(lib, session, pkcs11js.CKO_PRIVATE_KEY, label, ckaId);
  if (privateHandle === undefined) return undefined;
  const publicHandle = keyObject(lib, session, pkcs11js.CKO_PUBLIC_KEY, label, ckaId);
  if (publicHandle === undefined) return `its public key object (CKA_ID ${ckaId.toString('hex')}) is missing`;
  const keyType = attribute(lib, session, privateHandle, pkcs11js.CKA_KEY_TYPE).readUIntLE(0, 1);
  const read = (type: number): Buffer => attribute(lib, session, publicHandle, type);
  if (keyType === pkcs11js.CKK_RSA) {
    const n = read(pkcs11js.CKA_MODULUS);
    if (n.length * 8 !== RSA_BITS) return `it is an RSA key of ${n.length * 8} bits; sigil uses ${RSA_BITS}`;
    const publicKey = createPublicKey({
      key: { kty: 'RSA', n: n.toString('base64url'), e: read(pkcs11js.CKA_PUBLIC_EXPONENT).toString('base64url') },
      format: 'jwk',
    });
    return { label, ckaId, keyType: 'rsa-2048', publicKey, privateHandle };
  }
  if (keyType === pkcs11js.CKK_EC) {
    const params = read(pkcs11js.CKA_EC_PARAMS);
    const kind = (['ec-p256', 'ec-p384'] as const).find((k) => EC_PARAMS[k].der.equals(params));
    if (kind === undefined) return `it is an EC key on a curve sigil does not use (parameters ${params.toString('hex')})`;
    const { crv, size } = EC_PARAMS[kind];
    const point = ecPoint(read(pkcs11js.CKA_EC_POINT), size);
    if (point === undefined) return 'its CKA_EC_POINT is not an uncompressed point';
    const publicKey = createPublicKey({
      key: { kty: 'EC', crv, x: point.subarray(1, 1 + size).toString('base64url'), y: point.subarray(1 + size).toString('base64url') },
      format: 'jwk',
    });
    return { label, ckaId, keyType: kind, publicKey, privateHandle };
  }
  return `its key type ${keyType} is neither EC nor RSA`;
}

/**
 * The uncompressed point from CKA_EC_POINT: PKCS#11 says a DER OCTET STRING around it, some
 * modules give the bare point. The lengths tell them apart (65 vs 67 bytes for P-256).
 */
function ecPoint(value: Buffer, size: number): Buffer | undefined {
  const bare = 1 + 2 * size;
  if (value.length === bare + 2 && value[0] === 0x04 && value[1] === bare) value = value.subarray(2);
  return value.length === bare && value[0] === 0x04 ? value : undefined;
}
