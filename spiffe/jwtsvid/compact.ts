import { isJwtAlgorithm, type JwtAlgorithm } from './algorithms.js';
import { JwtSvidError, JwtSvidRule, goQuote } from './errors.js';

/** The protected header of a JWT-SVID once steps 1–2 of validation have passed. */
export interface JwtSvidHeader {
  readonly alg: JwtAlgorithm;
  /** Absent or "" both mean "no key ID" (go-spiffe treats them alike). */
  readonly kid: string | undefined;
}

export interface CompactJws {
  readonly header: JwtSvidHeader;
  /** The base64url payload, still encoded: claims are decoded as a later, separate step. */
  readonly payload: string;
}

// JWT-SVID.md 2: alg, kid and typ are the only header parameters a JWT-SVID may carry.
const ALLOWED_HEADER_PARAMS: ReadonlySet<string> = new Set(['alg', 'kid', 'typ']);

// base64url without padding (RFC 7515 2); Buffer's own decoder would skip bad characters silently.
const BASE64URL = /^[A-Za-z0-9_-]*$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Splits a compact JWS and checks its header, in go-spiffe's order: the alg allow-list before
 * anything else (JWT-SVID.md 2.1), then typ; then (ours) no header parameter beyond alg, kid, typ.
 * Every structural failure has go-spiffe's one message; the `cause` says what exactly was wrong.
 */
export function parseCompact(token: string): CompactJws {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3) throw unparsable('not a compact JWS (three base64url parts)');
  const [headerPart, payload] = parts as [string, string, string];
  // go-jose decodes all three parts at parse time, so an undecodable signature fails here too.
  for (const part of parts) {
    if (!isBase64url(part)) throw unparsable('a part is not unpadded base64url');
  }
  if (headerPart.length === 0) throw unparsable('empty protected header');
  const header = decodeJsonObject(headerPart);
  if (header === undefined) throw unparsable('protected header is not a JSON object');
  const alg = header['alg'];
  if (!isJwtAlgorithm(alg)) {
    throw unparsable(`alg ${JSON.stringify(alg ?? null)} is not one of RS/ES/PS 256/384/512`);
  }
  const kid = header['kid'];
  if (kid !== undefined && typeof kid !== 'string') throw unparsable('kid is not a string');

  if (Object.hasOwn(header, 'typ') && header['typ'] !== 'JWT' && header['typ'] !== 'JOSE') {
    throw new JwtSvidError(JwtSvidRule.badType);
  }
  for (const name of Object.keys(header)) {
    if (!ALLOWED_HEADER_PARAMS.has(name)) {
      throw new JwtSvidError(`token header parameter ${goQuote(name)} is not allowed (only alg, kid and typ are)`);
    }
  }
  return { header: { alg, kid: kid === '' ? undefined : kid }, payload };
}

function unparsable(detail: string): JwtSvidError {
  return new JwtSvidError(JwtSvidRule.unparsable, { cause: new Error(detail) });
}

function isBase64url(part: string): boolean {
  // A length of 1 mod 4 cannot come from any byte string.
  return BASE64URL.test(part) && part.length % 4 !== 1;
}

/** The JSON object a base64url part encodes, or undefined when it is not valid UTF-8 JSON object text. */
export function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(Buffer.from(part, 'base64url')));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  return value as Record<string, unknown>;
}

export function base64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString('base64url');
}
