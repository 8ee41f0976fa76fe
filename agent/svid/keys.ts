/**
 * Workload keys, generated on this node and never sent anywhere (only a CSR's public key leaves).
 *
 * Generation runs on libuv's thread pool (crypto.generateKeyPair), so the event loop keeps serving
 * workloads while a burst of keys is made; RSA-2048 (~130 ms a key) would otherwise stall it.
 * Measured on the 2-core test machine, 1,000 P-256 keys: generation ~45 ms either way, but
 * exporting PKCS#8 + SPKI DER through OpenSSL cost ~180 ms, while exporting a JWK costs ~7 ms, so
 * for EC keys the two DER encodings are written here from the JWK's coordinates (fixed layouts,
 * checked byte for byte against OpenSSL's in the unit tests).
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { bitString, explicit, integer, octetString, oid, sequence } from '../../spiffe/internal/der-writer.js';
import type { WorkloadKeyType } from '../config/index.js';

const generate = promisify(generateKeyPair);

export interface WorkloadKey {
  readonly type: WorkloadKeyType;
  /** Signs the CSR; dropped once it is made. */
  readonly privateKey: KeyObject;
  /** PKCS#8 DER, what the Workload API hands out. */
  readonly pkcs8: Buffer;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Buffer;
}

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const CURVES = {
  'ec-p256': { name: 'prime256v1', oid: '1.2.840.10045.3.1.7', bytes: 32 },
  'ec-p384': { name: 'secp384r1', oid: '1.3.132.0.34', bytes: 48 },
} as const;

export async function generateWorkloadKey(type: WorkloadKeyType): Promise<WorkloadKey> {
  if (type === 'rsa-2048') {
    const { privateKey, publicKey } = await generate('rsa', { modulusLength: 2048 });
    return {
      type,
      privateKey,
      pkcs8: privateKey.export({ type: 'pkcs8', format: 'der' }),
      spki: publicKey.export({ type: 'spki', format: 'der' }),
    };
  }
  const curve = CURVES[type];
  const { privateKey } = await generate('ec', { namedCurve: curve.name });
  const { pkcs8, spki } = ecEncodings(type, privateKey);
  return { type, privateKey, pkcs8, spki };
}

/** RFC 5915 / RFC 5480 encodings of an EC private key, as OpenSSL writes them for PKCS#8. */
export function ecEncodings(type: 'ec-p256' | 'ec-p384', privateKey: KeyObject): { pkcs8: Buffer; spki: Buffer } {
  const curve = CURVES[type];
  const jwk = privateKey.export({ format: 'jwk' });
  const d = fixed(jwk.d, curve.bytes);
  const point = Buffer.concat([Buffer.from([0x04]), fixed(jwk.x, curve.bytes), fixed(jwk.y, curve.bytes)]);
  const algorithm = sequence(oid(EC_PUBLIC_KEY), oid(curve.oid));
  const ecPrivateKey = sequence(integer(1), octetString(d), explicit(1, bitString(point)));
  return {
    pkcs8: sequence(integer(0), algorithm, octetString(ecPrivateKey)),
    spki: sequence(algorithm, bitString(point)),
  };
}

function fixed(b64url: string | undefined, bytes: number): Buffer {
  const b = Buffer.from(b64url ?? '', 'base64url');
  if (b.length === bytes) return b;
  if (b.length > bytes) throw new Error(`workload key: a coordinate of ${b.length} bytes, expected ${bytes}`);
  return Buffer.concat([Buffer.alloc(bytes - b.length), b]);
}
