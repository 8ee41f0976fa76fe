/**
 * JWKs in bundles, read from untrusted documents and written for peers. Reading mirrors what
 * go-spiffe inherits from go-jose (kty required, exact EC coordinate sizes, x5c must hold the same
 * public key as the members), with two deliberate differences, both rejections of keys go-jose
 * would load: symmetric (`oct`) keys, which cannot verify any JWT-SVID algorithm, and private key
 * members, whose presence means a signing key leaked into a published bundle.
 */
import { createHash, createPublicKey, type JsonWebKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { messageOf } from '../errors.js';
import type { JsonObject, JsonValue } from '../internal/json.js';
import { parseDerCertificate } from './certificates.js';

export interface DecodedJwk {
  readonly use: string | undefined;
  readonly kid: string | undefined;
  readonly key: KeyObject;
  /** The x5c chain; empty when absent. */
  readonly certificates: readonly X509Certificate[];
}

/** `unsupported` marks keys a spec-literal reader ignores (unknown kty or curve) rather than rejects. */
export class JwkError extends Error {
  constructor(
    message: string,
    readonly unsupported = false,
  ) {
    super(message);
  }
}

const CURVE_BYTES: Readonly<Record<string, number>> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 };
const NODE_CURVES: Readonly<Record<string, string>> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go decodes JSON null into an optional string as "absent"; so do we. */
export function optionalString(obj: JsonObject, name: string): string | undefined {
  const v = obj[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new JwkError(`"${name}" must be a string`);
  return v;
}

export function decodeJwk(value: JsonValue | undefined): DecodedJwk {
  if (!isJsonObject(value)) throw new JwkError('must be a JSON object');
  const use = optionalString(value, 'use');
  const kid = optionalString(value, 'kid');
  const key = decodePublicKey(value);
  const certificates = decodeX5c(value);
  const first = certificates[0];
  if (first !== undefined && !sameKey(first, key)) throw new JwkError('public keys in key and x5c fields do not match');
  checkThumbprint(value, 'x5t', 'sha1', 20, first);
  checkThumbprint(value, 'x5t#S256', 'sha256', 32, first);
  return { use, kid, key, certificates };
}

/** Node throws on certificate keys OpenSSL cannot load; such a key matches no JWK we accept. */
function sameKey(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.publicKey.equals(key);
  } catch {
    return false;
  }
}

function decodePublicKey(jwk: JsonObject): KeyObject {
  const kty = optionalString(jwk, 'kty');
  if (kty === undefined) throw new JwkError('missing key type ("kty")', true);
  if (kty !== 'EC' && kty !== 'RSA' && kty !== 'OKP') throw new JwkError(`unsupported key type ${JSON.stringify(kty)}`, true);
  for (const m of PRIVATE_MEMBERS) {
    if (jwk[m] !== undefined) throw new JwkError(`must not contain private key member ${JSON.stringify(m)}`);
  }
  let members: JsonWebKey;
  if (kty === 'EC') {
    const crv = requiredB64String(jwk, 'crv', kty, false);
    const size = CURVE_BYTES[crv];
    if (size === undefined) throw new JwkError(`unsupported elliptic curve ${JSON.stringify(crv)}`, true);
    members = { kty, crv, x: coordinate(jwk, 'x', size, kty), y: coordinate(jwk, 'y', size, kty) };
  } else if (kty === 'OKP') {
    const crv = requiredB64String(jwk, 'crv', kty, false);
    if (crv !== 'Ed25519') throw new JwkError(`unsupported OKP curve ${JSON.stringify(crv)}`, true);
    members = { kty, crv, x: coordinate(jwk, 'x', 32, kty) };
  } else {
    members = { kty, n: requiredB64String(jwk, 'n', kty, true), e: requiredB64String(jwk, 'e', kty, true) };
  }
  try {
    return createPublicKey({ key: members, format: 'jwk' });
  } catch (err) {
    throw new JwkError(`invalid ${kty} key: ${messageOf(err)}`);
  }
}

function requiredB64String(jwk: JsonObject, name: string, kty: string, base64url: boolean): string {
  const v = optionalString(jwk, name);
  if (v === undefined || v === '') throw new JwkError(`invalid ${kty} key: missing ${JSON.stringify(name)}`);
  if (base64url) return decodeBase64Url(v, name).toString('base64url');
  return v;
}

function coordinate(jwk: JsonObject, name: string, size: number, kty: string): string {
  const bytes = decodeBase64Url(requiredB64String(jwk, name, kty, false), name);
  if (bytes.length !== size) {
    throw new JwkError(`invalid ${kty} key: ${JSON.stringify(name)} must be ${size} bytes, got ${bytes.length}`);
  }
  return bytes.toString('base64url');
}

/** RFC 7515 base64url without padding; Node's decoder would silently skip invalid characters. */
function decodeBase64Url(s: string, name: string): Buffer {
  const unpadded = s.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]*$/.test(unpadded) || unpadded.length % 4 === 1) {
    throw new JwkError(`${JSON.stringify(name)} is not valid base64url`);
  }
  return Buffer.from(unpadded, 'base64url');
}

const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** x5c is standard (not URL) base64 DER per RFC 7517 4.7 and X509-SVID.md 6. */
function decodeX5c(jwk: JsonObject): X509Certificate[] {
  const v = jwk['x5c'];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new JwkError('"x5c" must be an array of strings');
  return (v as readonly JsonValue[]).map((entry, i) => {
    if (typeof entry !== 'string' || !STD_BASE64.test(entry)) {
      throw new JwkError(`"x5c" entry ${i} is not a standard base64 string`);
    }
    try {
      return parseDerCertificate(Buffer.from(entry, 'base64'));
    } catch (err) {
      throw new JwkError(`"x5c" entry ${i}: ${messageOf(err)}`);
    }
  });
}

function checkThumbprint(jwk: JsonObject, name: string, hash: string, size: number, cert: X509Certificate | undefined): void {
  const v = optionalString(jwk, name);
  if (v === undefined) return;
  const bytes = decodeBase64Url(v, name);
  if (bytes.length !== size) throw new JwkError(`${JSON.stringify(name)} must be ${size} bytes, got ${bytes.length}`);
  if (cert !== undefined && !createHash(hash).update(cert.raw).digest().equals(bytes)) {
    throw new JwkError(`${JSON.stringify(name)} does not match the certificate in "x5c"`);
  }
}

/**
 * Why `key` cannot be a bundle authority, or undefined when it can. Checked when authorities are
 * added, so that marshalling never fails and never writes private members.
 */
export function authorityKeyProblem(key: KeyObject): string | undefined {
  if (key.type !== 'public') return `must be a public key, got a ${key.type} key`;
  const type = key.asymmetricKeyType;
  if (type === 'rsa' || type === 'ed25519') return undefined;
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    return NODE_CURVES[curve] === undefined ? `unsupported elliptic curve ${JSON.stringify(curve)}` : undefined;
  }
  return `unsupported key type ${JSON.stringify(type ?? 'unknown')}`;
}

/** Member order follows go-jose (use, kty, kid, curve/modulus members, x5c) for familiar output. */
export function encodeJwk(key: KeyObject, extra: { use?: string; kid?: string; x5c?: X509Certificate }): JsonObject {
  const jwk = key.export({ format: 'jwk' });
  return {
    use: extra.use,
    kty: jwk.kty,
    kid: extra.kid,
    crv: jwk.crv,
    x: jwk.x,
    y: jwk.y,
    n: jwk.n,
    e: jwk.e,
    x5c: extra.x5c === undefined ? undefined : [extra.x5c.raw.toString('base64')],
  };
}
