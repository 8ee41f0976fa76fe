/**
 * JWT-SVID signing. One path for every key: the signing input is encoded here and only the raw
 * signature comes from the key, so a software KeyObject and an HSM-held key (PKCS#11, where the CA
 * signs the JWS signing input itself) produce byte-identical headers and claims.
 */
import { KeyObject, constants, sign as cryptoSign } from 'node:crypto';
import { Status } from '../errors.js';
import type { SpiffeId } from '../spiffeid/index.js';
import {
  defaultAlgorithm,
  describeKey,
  ecCoordinateBytes,
  hashOf,
  isEcAlgorithm,
  isJwtAlgorithm,
  keyMismatch,
  type JwtAlgorithm,
} from './algorithms.js';
import { readRegisteredClaims } from './claims.js';
import { base64url } from './compact.js';
import { derToRawEcdsa } from './ecdsa.js';
import { JwtSvidError, goQuote } from './errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * A key that signs outside this process. `sign` receives the JWS signing input (ASCII
 * `header.payload`) and hashes it itself, as PKCS#11 CKM_SHA256_RSA_PKCS / CKM_ECDSA_SHA384 do.
 * Its errors propagate unchanged, so the key manager's own codes and statuses survive.
 */
export interface JwtSigner {
  readonly alg: JwtAlgorithm;
  /**
   * For ES*: how `sign` encodes the signature. 'ieee-p1363' (the default) is r||s, which is what
   * PKCS#11 CKM_ECDSA* and WebCrypto return and what JWS carries; 'der' is the ASN.1 SEQUENCE
   * that OpenSSL and node:crypto return by default, converted here. Ignored for RS* and PS*.
   */
  readonly dsaEncoding?: 'ieee-p1363' | 'der';
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

export interface JwtSvidParams {
  id: SpiffeId;
  /** At least one, none empty. One audience is written as a plain string (see buildClaims). */
  audience: readonly string[];
  /** Written as whole seconds, rounded down so the token never outlives what was asked. */
  expiresAt: Date;
  /** Defaults to now. */
  issuedAt?: Date;
  /** The `kid` of the bundle key validators must use; go-spiffe refuses tokens without one. */
  keyId: string;
  /** Defaults from the key: EC P-256/384/521 → ES256/384/512, RSA → RS256. A JwtSigner's own alg wins. */
  alg?: JwtAlgorithm;
  /** More claims (iss, jti…); sub, aud, exp and iat are set from the fields above and cannot be overridden. */
  extraClaims?: Readonly<Record<string, JsonValue>>;
}

const RESERVED_CLAIMS: readonly string[] = ['sub', 'aud', 'exp', 'iat'];

/** Signs a JWT-SVID: header exactly `{alg, kid, typ: "JWT"}`, claims `sub, aud, exp, iat, …extra`. */
export async function signJwtSvid(params: JwtSvidParams, signer: KeyObject | JwtSigner): Promise<string> {
  const alg = signer instanceof KeyObject ? algorithmForKey(params.alg, signer) : algorithmForSigner(params.alg, signer);
  if (typeof params.keyId !== 'string' || params.keyId.length === 0) {
    throw new JwtSvidError('cannot sign: key ID cannot be empty');
  }
  const header = { alg, kid: params.keyId, typ: 'JWT' };
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(buildClaims(params)))}`;
  const data = Buffer.from(signingInput, 'ascii');
  const signature =
    signer instanceof KeyObject ? await signWithKey(alg, signer, data) : await signWithSigner(alg, signer, data);
  return `${signingInput}.${base64url(signature)}`;
}

function algorithmForKey(requested: JwtAlgorithm | undefined, key: KeyObject): JwtAlgorithm {
  if (key.type !== 'private') throw new JwtSvidError(`cannot sign: the key must be a private key, got a ${key.type} key`);
  if (requested !== undefined && !isJwtAlgorithm(requested)) {
    throw new JwtSvidError(`cannot sign: alg ${goQuote(String(requested))} is not allowed for JWT-SVIDs`);
  }
  const alg = requested ?? defaultAlgorithm(key);
  if (alg === undefined) throw new JwtSvidError(`cannot sign: no JWT-SVID algorithm signs with ${describeKey(key)}`);
  const mismatch = keyMismatch(alg, key);
  if (mismatch !== undefined) throw new JwtSvidError(`cannot sign: ${mismatch}`);
  return alg;
}

function algorithmForSigner(requested: JwtAlgorithm | undefined, signer: JwtSigner): JwtAlgorithm {
  if (!isJwtAlgorithm(signer.alg)) {
    throw new JwtSvidError(`cannot sign: signer alg ${goQuote(String(signer.alg))} is not allowed for JWT-SVIDs`);
  }
  if (requested !== undefined && requested !== signer.alg) {
    throw new JwtSvidError(`cannot sign: alg ${requested} was asked for but the signer signs ${signer.alg}`);
  }
  return signer.alg;
}

/**
 * One audience becomes a plain string: JWT-SVID.md 3 strongly recommends a single value,
 * JWT-SVID.schema types aud as a string, and SPIRE (through go-jose) writes one value that way.
 * go-spiffe and sigil accept both forms.
 */
function buildClaims(params: JwtSvidParams): Record<string, JsonValue> {
  const { audience, extraClaims = {} } = params;
  if (!Array.isArray(audience) || audience.length === 0) {
    throw new JwtSvidError('cannot sign: audience must hold at least one value');
  }
  if (!audience.every((a) => typeof a === 'string' && a.length > 0)) {
    throw new JwtSvidError('cannot sign: audience values must be non-empty strings');
  }
  const exp = wholeSeconds(params.expiresAt, 'expiresAt');
  const iat = wholeSeconds(params.issuedAt ?? new Date(), 'issuedAt');
  if (exp <= iat) throw new JwtSvidError('cannot sign: expiresAt must be at least a second after issuedAt');
  for (const name of RESERVED_CLAIMS) {
    if (Object.hasOwn(extraClaims, name)) {
      throw new JwtSvidError(`cannot sign: extra claim ${goQuote(name)} would override a JWT-SVID claim`);
    }
  }
  const claims: Record<string, JsonValue> = {
    sub: params.id.toString(),
    aud: audience.length === 1 ? audience[0] : [...audience],
    exp,
    iat,
    ...extraClaims,
  };
  // What we sign must pass our own (and go-jose's) claim typing, e.g. an extra `iss` of 5 must not.
  const registered = readRegisteredClaims(claims);
  if (typeof registered === 'string') throw new JwtSvidError(`cannot sign: ${registered}`);
  // An nbf after iat could be ahead of a validator's clock, and go-spiffe's Workload API client
  // would then refuse the token it just fetched.
  if (registered.nbf !== undefined && registered.nbf > iat) {
    throw new JwtSvidError('cannot sign: extra claim "nbf" must not be after issuedAt');
  }
  return claims;
}

function wholeSeconds(d: Date, name: string): number {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new JwtSvidError(`cannot sign: ${name} is not a valid Date`);
  return Math.floor(ms / 1000);
}

function signWithKey(alg: JwtAlgorithm, key: KeyObject, data: Uint8Array): Promise<Uint8Array> {
  const hash = hashOf(alg);
  const options = isEcAlgorithm(alg)
    ? { key, dsaEncoding: 'ieee-p1363' as const }
    : alg.startsWith('PS')
      ? // RFC 7518 3.5: the salt is as long as the hash.
        { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(hash.slice(3)) / 8 }
      : { key, padding: constants.RSA_PKCS1_PADDING };
  // The callback form runs off the event loop; RSA signing takes a millisecond or more.
  return new Promise((resolve, reject) => {
    cryptoSign(hash, data, options, (err, sig) => {
      if (err) reject(new JwtSvidError(`signing failed: ${err.message}`, { cause: err, status: Status.INTERNAL }));
      else resolve(sig);
    });
  });
}

async function signWithSigner(alg: JwtAlgorithm, signer: JwtSigner, data: Uint8Array): Promise<Uint8Array> {
  const sig = await signer.sign(data);
  if (!(sig instanceof Uint8Array) || sig.length === 0) {
    throw new JwtSvidError('signing failed: the signer returned no signature', { status: Status.INTERNAL });
  }
  if (!isEcAlgorithm(alg)) return sig;
  const size = ecCoordinateBytes(alg);
  if (signer.dsaEncoding === 'der') {
    const raw = derToRawEcdsa(sig, size);
    if (raw === undefined) {
      throw new JwtSvidError(`signing failed: the signer returned a malformed DER ${alg} signature`, {
        status: Status.INTERNAL,
      });
    }
    return raw;
  }
  if (sig.length !== 2 * size) {
    throw new JwtSvidError(
      `signing failed: the signer returned ${sig.length} bytes for ${alg}, expected ${2 * size} (r||s); ` +
        `set dsaEncoding: 'der' if it returns DER`,
      { status: Status.INTERNAL },
    );
  }
  return sig;
}
