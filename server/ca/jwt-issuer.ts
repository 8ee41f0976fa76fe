/**
 * The JWT signing key and JWT-SVID issuance. The key is a ManagedKey like the X.509 CA's, so the
 * token is signed wherever the key lives: spiffe/jwtsvid encodes the signing input and only the
 * signature comes from the KeyManager's Signer.
 */
import { randomBytes } from 'node:crypto';
import { signJwtSvid, type JsonValue, type JwtAlgorithm, type JwtSigner } from '../../spiffe/jwtsvid/index.js';
import type { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { SignatureAlgorithm } from '../../spiffe/x509svid/signer.js';
import type { KeyManager, KeyType, ManagedKey } from '../keymanager/key-manager.js';
import type { Restored } from './authority.js';
import { CaError, CaErrorCode } from './errors.js';
import { jwtKeyId, type AuthorityStatus, type JwtKeyRecord, type SlotId } from './journal.js';
import { asIssuanceError, checkMember, resolveTtl } from './requests.js';

export interface JwtKey {
  readonly slot: SlotId;
  /** The `kid` of tokens and of the key in the bundle. */
  readonly kid: string;
  readonly key: ManagedKey;
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

const KID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const KID_LENGTH = 32;

/** 32 random characters of [A-Za-z0-9], as SPIRE's kids; bytes ≥ 248 are dropped to stay unbiased. */
export function newKid(): string {
  let kid = '';
  while (kid.length < KID_LENGTH) {
    for (const b of randomBytes(KID_LENGTH)) {
      if (b < 248 && kid.length < KID_LENGTH) kid += KID_ALPHABET[b % 62];
    }
  }
  return kid;
}

export interface CreateJwtKeyOptions {
  keyManager: KeyManager;
  keyType: KeyType;
  slot: SlotId;
  ttlSeconds: number;
  now: Date;
}

export async function createJwtKey(o: CreateJwtKeyOptions): Promise<JwtKey> {
  const key = await o.keyManager.generateKey(jwtKeyId(o.slot), o.keyType);
  const issuedAt = new Date(Math.floor(o.now.getTime() / 1000) * 1000);
  return { slot: o.slot, kid: newKid(), key, issuedAt, notAfter: new Date(issuedAt.getTime() + o.ttlSeconds * 1000) };
}

export function jwtKeyRecord(k: JwtKey, status: AuthorityStatus): JwtKeyRecord {
  return {
    slot: k.slot,
    keyId: k.key.id,
    status,
    issuedAt: k.issuedAt.getTime() / 1000,
    notAfter: k.notAfter.getTime() / 1000,
    kid: k.kid,
    publicKey: k.key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    keyLocation: k.key.location,
  };
}

export async function restoreJwtKey(record: JwtKeyRecord, keyManager: KeyManager): Promise<Restored<JwtKey>> {
  const key = await keyManager.getKey(record.keyId);
  if (key === undefined) return { reason: `key ${record.keyId} of the journal's JWT key is not in the ${keyManager.type} key manager` };
  const spki = key.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  if (spki !== record.publicKey) {
    return { reason: `key ${record.keyId} in the ${keyManager.type} key manager is not the journal's JWT key` };
  }
  const at = (s: number): Date => new Date(s * 1000);
  return { value: { slot: record.slot, kid: record.kid, key, issuedAt: at(record.issuedAt), notAfter: at(record.notAfter) } };
}

const JWT_ALG: Readonly<Record<SignatureAlgorithm, JwtAlgorithm>> = {
  'ecdsa-with-SHA256': 'ES256',
  'ecdsa-with-SHA384': 'ES384',
  sha256WithRSAEncryption: 'RS256',
};

/** The KeyManager's Signer hashes and signs as JWS needs; only the ECDSA encoding differs (DER there). */
export function jwtSigner(key: ManagedKey): JwtSigner {
  const signer = key.signer();
  return { alg: JWT_ALG[signer.algorithm], dsaEncoding: 'der', sign: (input) => signer.sign(input) };
}

export interface JwtSvidRequest {
  spiffeId: SpiffeId;
  /** At least one. */
  audience: readonly string[];
  /** Seconds; absent or 0 = the CA's default (5 min). Capped at the JWT key's expiry. */
  ttlSeconds?: number;
  /** More claims (iss, jti…); sub, aud, exp, iat cannot be overridden. */
  extraClaims?: Readonly<Record<string, JsonValue>>;
}

export interface IssuedJwtSvid {
  token: string;
  spiffeId: SpiffeId;
  audience: readonly string[];
  issuedAt: Date;
  expiresAt: Date;
  /** The kid the token names. */
  keyId: string;
}

export interface JwtIssueContext {
  trustDomain: TrustDomain;
  now: Date;
  defaultTtlSeconds: number;
}

export async function issueJwtSvid(jwtKey: JwtKey, req: JwtSvidRequest, ctx: JwtIssueContext): Promise<IssuedJwtSvid> {
  checkMember(ctx.trustDomain, req.spiffeId);
  const ttl = resolveTtl(req.ttlSeconds, ctx.defaultTtlSeconds, 'JWT-SVID');
  const issuedAt = new Date(Math.floor(ctx.now.getTime() / 1000) * 1000);
  const expiresAt = new Date(Math.min(issuedAt.getTime() + ttl * 1000, jwtKey.notAfter.getTime()));
  if (expiresAt <= issuedAt) {
    throw new CaError(
      CaErrorCode.unavailable,
      `JWT key ${jwtKey.kid} expired at ${jwtKey.notAfter.toISOString()}: no JWT-SVID can be signed until a new key is active`,
    );
  }
  let token: string;
  try {
    token = await signJwtSvid(
      { id: req.spiffeId, audience: req.audience, issuedAt, expiresAt, keyId: jwtKey.kid, extraClaims: req.extraClaims },
      jwtSigner(jwtKey.key),
    );
  } catch (err) {
    throw asIssuanceError(err, `signing a JWT-SVID with ${jwtKey.key.location}`);
  }
  return { token, spiffeId: req.spiffeId, audience: [...req.audience], issuedAt, expiresAt, keyId: jwtKey.kid };
}
