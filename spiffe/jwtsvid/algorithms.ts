import type { KeyObject } from 'node:crypto';

/** The signature algorithms JWT-SVID.md 2.1 allows; everything else (none, HS*, EdDSA) is refused. */
export const JWT_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'ES256',
  'ES384',
  'ES512',
  'PS256',
  'PS384',
  'PS512',
] as const;

export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const ALLOWED: ReadonlySet<string> = new Set(JWT_ALGORITHMS);

export function isJwtAlgorithm(alg: unknown): alg is JwtAlgorithm {
  return typeof alg === 'string' && ALLOWED.has(alg);
}

/** RSA keys below this size are refused for signing and verifying (jose refuses them too). */
export const MIN_RSA_BITS = 2048;

/** The hash of an algorithm, as node:crypto names it. */
export function hashOf(alg: JwtAlgorithm): 'sha256' | 'sha384' | 'sha512' {
  const bits = alg.slice(2);
  return bits === '256' ? 'sha256' : bits === '384' ? 'sha384' : 'sha512';
}

const CURVE_OF_ALG = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const;

/** Bytes of one ECDSA coordinate (r or s) in a JWS signature, RFC 7518 3.4. */
export function ecCoordinateBytes(alg: 'ES256' | 'ES384' | 'ES512'): number {
  return alg === 'ES256' ? 32 : alg === 'ES384' ? 48 : 66;
}

export function isEcAlgorithm(alg: JwtAlgorithm): alg is 'ES256' | 'ES384' | 'ES512' {
  return alg.startsWith('ES');
}

// Node reports OpenSSL's curve names; JOSE uses the NIST ones.
const NIST_CURVE: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

function curveOf(key: KeyObject): string | undefined {
  const named = key.asymmetricKeyDetails?.namedCurve;
  return named === undefined ? undefined : (NIST_CURVE[named] ?? named);
}

const KEY_TYPE_NAMES: Readonly<Record<string, string>> = {
  rsa: 'an RSA',
  'rsa-pss': 'an RSA-PSS',
  dsa: 'a DSA',
  dh: 'a DH',
  ed25519: 'an Ed25519',
  ed448: 'an Ed448',
  x25519: 'an X25519',
  x448: 'an X448',
};

/** "an EC P-384 key", "an RSA key"…, for messages that say what a key was instead of what it was not. */
export function describeKey(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `an EC ${curveOf(key) ?? 'unknown-curve'} key`;
    case undefined:
      return 'a symmetric key';
    default:
      return `${KEY_TYPE_NAMES[key.asymmetricKeyType] ?? `a ${key.asymmetricKeyType}`} key`;
  }
}

/**
 * Why `key` cannot sign or verify `alg`, or undefined when it can. Checked before handing the key
 * to jose or node:crypto, whose own errors for a mismatch ("Invalid or unsupported JWK alg") do
 * not say which key was wrong or how.
 */
export function keyMismatch(alg: JwtAlgorithm, key: KeyObject): string | undefined {
  if (isEcAlgorithm(alg)) {
    const want = CURVE_OF_ALG[alg];
    if (key.asymmetricKeyType === 'ec' && curveOf(key) === want) return undefined;
    return `${alg} needs an EC ${want} key, got ${describeKey(key)}`;
  }
  const pssOk = alg.startsWith('PS') && key.asymmetricKeyType === 'rsa-pss';
  if (key.asymmetricKeyType !== 'rsa' && !pssOk) {
    return `${alg} needs an RSA key, got ${describeKey(key)}`;
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    return `${alg} needs an RSA key of at least ${MIN_RSA_BITS} bits, got ${bits} bits`;
  }
  return undefined;
}

/** EC P-256/384/521 → ES256/384/512; RSA → RS256; RSA-PSS → PS256; anything else: undefined. */
export function defaultAlgorithm(key: KeyObject): JwtAlgorithm | undefined {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = curveOf(key);
      return curve === 'P-256' ? 'ES256' : curve === 'P-384' ? 'ES384' : curve === 'P-521' ? 'ES512' : undefined;
    }
    case 'rsa':
      return 'RS256';
    case 'rsa-pss':
      return 'PS256';
    default:
      return undefined;
  }
}
