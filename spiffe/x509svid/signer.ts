/**
 * The signing seam of certificate issuance. The profile module builds the bytes to be signed; a
 * Signer (software key, PKCS#11 through WebCrypto, a KMS…) signs them and returns the signature in
 * the form X.509 carries it, so the profile code never learns where the key lives.
 */
import { ECDH, KeyObject, createHash, createPublicKey, sign as cryptoSign } from 'node:crypto';
import { messageOf } from '../errors.js';
import { children, DerError, readWhole, Tag } from '../internal/der.js';
import { NULL, bitString, integerFromBytes, oid, sequence } from '../internal/der-writer.js';
import { readSpki } from '../internal/x509.js';
import { X509ProfileError } from './profile-errors.js';

/** The certificate signature algorithms sigil issues with, by their RFC 5758 / RFC 8017 names. */
export type SignatureAlgorithm = 'ecdsa-with-SHA256' | 'ecdsa-with-SHA384' | 'sha256WithRSAEncryption';

export interface Signer {
  readonly algorithm: SignatureAlgorithm;
  /**
   * Signs `data` (the DER TBSCertificate) and returns the X.509 signature value: a DER
   * ECDSA-Sig-Value for ECDSA (see ecdsaP1363ToDer for raw r||s), PKCS#1 v1.5 bytes for RSA.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** The key types sigil issues for and signs with: SPIRE's set (ec-p256, ec-p384, rsa-2048+). */
export type KeyKind = 'ec-p256' | 'ec-p384' | 'rsa';

interface AlgorithmInfo {
  readonly digest: 'sha256' | 'sha384';
  readonly key: KeyKind;
  readonly identifier: Buffer;
}

// RFC 5758 3.2: ECDSA AlgorithmIdentifiers omit parameters. RFC 4055 5 / RFC 8017 A.2.4: the RSA
// ones carry an explicit NULL, which some verifiers insist on.
const ALGORITHMS: Readonly<Record<SignatureAlgorithm, AlgorithmInfo>> = {
  'ecdsa-with-SHA256': { digest: 'sha256', key: 'ec-p256', identifier: sequence(oid('1.2.840.10045.4.3.2')) },
  'ecdsa-with-SHA384': { digest: 'sha384', key: 'ec-p384', identifier: sequence(oid('1.2.840.10045.4.3.3')) },
  'sha256WithRSAEncryption': {
    digest: 'sha256',
    key: 'rsa',
    identifier: sequence(oid('1.2.840.113549.1.1.11'), NULL),
  },
};

function info(algorithm: SignatureAlgorithm): AlgorithmInfo {
  // hasOwn, not a bare lookup: a JavaScript caller's "constructor" must not find Object's.
  if (!Object.hasOwn(ALGORITHMS, algorithm)) {
    throw new X509ProfileError(`unsupported signature algorithm "${String(algorithm)}"`);
  }
  return ALGORITHMS[algorithm];
}

/** The DER AlgorithmIdentifier for `algorithm` (shared buffer: do not modify). */
export function algorithmIdentifier(algorithm: SignatureAlgorithm): Buffer {
  return info(algorithm).identifier;
}

export function isEcdsa(algorithm: SignatureAlgorithm): boolean {
  return info(algorithm).key !== 'rsa';
}

const MIN_RSA_BITS = 2048;

/** Classifies a public or private key; anything outside KeyKind is rejected. */
export function keyKind(key: KeyObject): KeyKind {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ec-p256';
    if (details?.namedCurve === 'secp384r1') return 'ec-p384';
    throw new X509ProfileError(`unsupported EC curve "${details?.namedCurve ?? 'unknown'}": use P-256 or P-384`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = details?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw new X509ProfileError(`RSA keys must be at least ${MIN_RSA_BITS} bits, got ${bits}`);
    return 'rsa';
  }
  throw new X509ProfileError(`unsupported key type "${key.asymmetricKeyType ?? key.type}": use EC P-256/P-384 or RSA`);
}

/** A public key: a KeyObject (public, or private to take its public half) or SPKI DER bytes. */
export type PublicKeyInput = KeyObject | Uint8Array;

const EC_PUBLIC_KEY = oid('1.2.840.10045.2.1');
const CURVES = {
  'ec-p256': { oid: oid('1.2.840.10045.3.1.7'), name: 'prime256v1', size: 32 },
  'ec-p384': { oid: oid('1.3.132.0.34'), name: 'secp384r1', size: 48 },
} as const;
const RSA_OID = oid('1.2.840.113549.1.1.1');
const RSA_ENCRYPTION = sequence(RSA_OID, NULL);

function coordinate(b64url: string | undefined, size: number): Buffer {
  const b = Buffer.from(b64url ?? '', 'base64url');
  if (b.length > size) throw new X509ProfileError('EC public key coordinate is too long');
  return b.length === size ? b : Buffer.concat([Buffer.alloc(size - b.length), b]);
}

function ecSpki(kind: 'ec-p256' | 'ec-p384', uncompressedPoint: Uint8Array): Buffer {
  return sequence(sequence(EC_PUBLIC_KEY, CURVES[kind].oid), bitString(uncompressedPoint));
}

/**
 * SPKI DER built from the key's components. OpenSSL 3.0's SPKI encoder and decoder cost ~100 µs a
 * call, four ECDSA signatures; JWK (EC) and PKCS#1 (RSA) exports skip them and give the same bytes.
 */
function spkiOf(key: KeyObject, kind: KeyKind): Buffer {
  if (kind === 'rsa') return sequence(RSA_ENCRYPTION, bitString(key.export({ type: 'pkcs1', format: 'der' })));
  const { size } = CURVES[kind];
  const jwk = key.export({ format: 'jwk' });
  return ecSpki(kind, Buffer.concat([Buffer.from([0x04]), coordinate(jwk.x, size), coordinate(jwk.y, size)]));
}

function fromSpkiDer(input: Uint8Array): SubjectPublicKey {
  let parts;
  try {
    parts = readSpki(input);
  } catch (err) {
    throw new X509ProfileError(`public key is not valid SPKI DER: ${messageOf(err)}`, { cause: err });
  }
  const { algorithm, parameters, publicKey } = parts;
  if (algorithm.equals(EC_PUBLIC_KEY)) {
    const kind = parameters && (['ec-p256', 'ec-p384'] as const).find((k) => CURVES[k].oid.equals(parameters));
    if (kind === undefined) throw new X509ProfileError('unsupported EC curve: use P-256 or P-384');
    let point: Buffer;
    try {
      // Checks the point is on the curve (and decompresses it), without a full key decode.
      point = ECDH.convertKey(publicKey, CURVES[kind].name, undefined, undefined, 'uncompressed') as Buffer;
    } catch (err) {
      throw new X509ProfileError(`EC public key is not a point on ${kind}`, { cause: err });
    }
    return { kind, spki: ecSpki(kind, point) };
  }
  if (algorithm.equals(RSA_OID) && (parameters === undefined || parameters.equals(NULL))) {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: publicKey, format: 'der', type: 'pkcs1' });
    } catch (err) {
      throw new X509ProfileError(`RSA public key is malformed: ${messageOf(err)}`, { cause: err });
    }
    return { kind: keyKind(key), spki: spkiOf(key, 'rsa') };
  }
  // Anything else: let OpenSSL name the key type for the error keyKind gives.
  const key = publicKeyObject(input);
  const kind = keyKind(key);
  return { kind, spki: spkiOf(key, kind) };
}

export interface SubjectPublicKey {
  kind: KeyKind;
  /** Canonical SPKI DER (uncompressed EC point, RSA with NULL parameters). */
  spki: Buffer;
}

/** The kind and canonical SPKI DER of a key, which must be of a supported KeyKind. */
export function publicKeyFrom(input: PublicKeyInput): SubjectPublicKey {
  if (input instanceof Uint8Array) return fromSpkiDer(input);
  if (!(input instanceof KeyObject) || input.type === 'secret') {
    throw new X509ProfileError('public key must be an asymmetric KeyObject or SPKI DER');
  }
  // Never export from a private key: its PKCS#1/JWK forms carry the private half.
  const key = input.type === 'private' ? createPublicKey(input) : input;
  const kind = keyKind(key);
  return { kind, spki: spkiOf(key, kind) };
}

/** The input as a public KeyObject (a full OpenSSL decode for DER: keep off hot paths). */
export function publicKeyObject(input: PublicKeyInput): KeyObject {
  try {
    if (input instanceof Uint8Array) return createPublicKey({ key: Buffer.from(input), format: 'der', type: 'spki' });
  } catch (err) {
    throw new X509ProfileError(`public key is not valid SPKI DER: ${messageOf(err)}`, { cause: err });
  }
  return input.type === 'private' ? createPublicKey(input) : input;
}

/** SHA-1 of the subjectPublicKey BIT STRING contents: RFC 5280 4.2.1.2 method (1), as SPIRE does. */
export function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  return createHash('sha1').update(readSpki(spki).publicKey).digest();
}

/** The one algorithm sigil signs with for a key: the hash matches the curve's strength. */
export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  switch (keyKind(key)) {
    case 'ec-p256':
      return 'ecdsa-with-SHA256';
    case 'ec-p384':
      return 'ecdsa-with-SHA384';
    case 'rsa':
      return 'sha256WithRSAEncryption';
  }
}

/**
 * Converts an IEEE P1363 ECDSA signature (r||s, each half the curve size, as WebCrypto and
 * PKCS#11 CKM_ECDSA return it) into the DER ECDSA-Sig-Value X.509 requires (RFC 3279 2.2.3).
 */
export function ecdsaP1363ToDer(signature: Uint8Array): Buffer {
  const half = signature.length / 2;
  if (signature.length === 0 || !Number.isInteger(half)) {
    throw new X509ProfileError(`raw ECDSA signature must be r||s of equal halves, got ${signature.length} bytes`);
  }
  const r = signature.subarray(0, half);
  const s = signature.subarray(half);
  if (r.every((b) => b === 0) || s.every((b) => b === 0)) {
    throw new X509ProfileError('raw ECDSA signature has a zero component');
  }
  return sequence(integerFromBytes(r), integerFromBytes(s));
}

/**
 * True when `signature` is shaped like a DER ECDSA-Sig-Value. Catches a signer that returns raw
 * r||s by mistake: the certificate would still parse but never verify, failing far from the cause.
 */
export function isDerEcdsaSignature(signature: Uint8Array): boolean {
  try {
    const ints = children(signature, readWhole(signature, Tag.SEQUENCE, 'ECDSA-Sig-Value'));
    return ints.length === 2 && ints.every((i) => i.tag === Tag.INTEGER && i.end > i.contentStart);
  } catch (err) {
    if (err instanceof DerError) return false;
    throw err;
  }
}

/**
 * A Signer over a node:crypto private key (the memory and disk key managers' keys). Signing runs
 * on libuv's thread pool, so a burst of issuance neither blocks the event loop nor stays on one core.
 */
export function softwareSigner(privateKey: KeyObject): Signer {
  if (privateKey.type !== 'private') throw new X509ProfileError('softwareSigner needs a private key');
  const algorithm = signatureAlgorithmFor(privateKey);
  const { digest } = ALGORITHMS[algorithm];
  const key = isEcdsa(algorithm) ? { key: privateKey, dsaEncoding: 'der' as const } : privateKey;
  return {
    algorithm,
    sign: (data) =>
      new Promise((resolve, reject) => {
        cryptoSign(digest, data, key, (err, sig) => (err ? reject(err) : resolve(sig)));
      }),
  };
}
