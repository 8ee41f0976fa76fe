import { isTrustDomainChar, utf8Length } from './chars.js';
import { Rule } from './errors.js';
import { pathError } from './path.js';

/** SPIFFE-ID.md 2.3: implementations must accept 2048 bytes and should not generate more. */
export const MAX_ID_BYTES = 2048;
/** SPIFFE-ID.md 2.1 (from the RFC 3986 host limit). */
export const MAX_TRUST_DOMAIN_BYTES = 255;

const SCHEME_PREFIX = 'spiffe://';

export interface ParsedId {
  trustDomain: string;
  path: string;
}

/**
 * Splits and checks a SPIFFE ID string in go-spiffe's order (first broken rule wins): empty,
 * case-sensitive `spiffe://` prefix, trust-domain characters up to the first '/', non-empty trust
 * domain, then the path left to right. On top of go-spiffe it enforces the spec's length limits.
 * Returns the broken rule's text instead of throwing so callers choose the error type.
 */
export function parseId(s: string): ParsedId | string {
  if (s.length === 0) return Rule.empty;
  if (!s.startsWith(SCHEME_PREFIX)) return Rule.badScheme;
  // Length in UTF-16 units is a lower bound of the byte length; only count bytes when it matters.
  if (s.length > MAX_ID_BYTES / 3 && utf8Length(s) > MAX_ID_BYTES) return Rule.idTooLong;

  let end = SCHEME_PREFIX.length;
  for (; end < s.length; end++) {
    const c = s.charCodeAt(end);
    if (c === 0x2f) break;
    if (!isTrustDomainChar(c)) return Rule.badTrustDomainChar;
  }
  const trustDomain = s.slice(SCHEME_PREFIX.length, end);
  if (trustDomain.length === 0) return Rule.missingTrustDomain;
  if (trustDomain.length > MAX_TRUST_DOMAIN_BYTES) return Rule.trustDomainTooLong;

  const path = s.slice(end);
  const err = pathError(path);
  if (err !== undefined) return err;
  return { trustDomain, path };
}

/** Checks a bare trust domain name ("example.org"). */
export function trustDomainNameError(name: string): string | undefined {
  if (name.length === 0) return Rule.missingTrustDomain;
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) return Rule.badTrustDomainChar;
  }
  if (name.length > MAX_TRUST_DOMAIN_BYTES) return Rule.trustDomainTooLong;
  return undefined;
}
