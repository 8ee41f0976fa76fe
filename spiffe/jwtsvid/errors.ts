import { SigilError, type SigilErrorOptions } from '../errors.js';

/**
 * Every JWT-SVID parse, validation or signing failure. Messages start with `jwtsvid: ` and, where
 * go-spiffe has a message for the same failure, use its exact text, so operators running sigil
 * next to SPIRE and go-spiffe workloads see one wording.
 */
export class JwtSvidError extends SigilError {
  constructor(message: string, options: SigilErrorOptions = {}) {
    super('SIGIL_JWTSVID_INVALID', `jwtsvid: ${message}`, options);
  }
}

/**
 * The rules a JWT-SVID can break, in go-spiffe's wording unless marked. Named apart from
 * spiffeid's `Rule` so both can be re-exported from one barrel.
 */
export const JwtSvidRule = {
  unparsable: 'unable to parse JWT token',
  badType: 'token header type not equal to either JWT or JOSE',
  badClaims: 'unable to get claims from token',
  missingSubject: 'token missing subject claim',
  missingExp: 'token missing exp claim',
  badSubject: 'token has an invalid subject claim',
  missingKeyId: 'token header missing key id',
  expired: 'token has expired',
  // Ours: go-spiffe does not check these (JWT-SVID.md 2 and 3 require them).
  missingAud: 'token missing aud claim',
  emptyAud: 'token has an empty aud claim',
  // Ours: go-spiffe passes go-jose's bare texts through for these two.
  notYetValid: 'token is not valid yet (nbf)',
  issuedInFuture: 'token issued in the future (iat)',
} as const;

/** Go's `%q` of a string (strconv.Quote), so quoted values print exactly as go-spiffe prints them. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    out += quoteRune(cp, ch);
  }
  return out + '"';
}

/** Go's `%q` of a []string: `["a" "b"]`, space-separated, as fmt prints slices. */
export function goQuoteList(list: readonly string[]): string {
  return `[${list.map(goQuote).join(' ')}]`;
}

const SHORT_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x07, '\\a'],
  [0x08, '\\b'],
  [0x0c, '\\f'],
  [0x0a, '\\n'],
  [0x0d, '\\r'],
  [0x09, '\\t'],
  [0x0b, '\\v'],
]);

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

function quoteRune(cp: number, ch: string): string {
  if (ch === '"' || ch === '\\') return `\\${ch}`;
  // A lone surrogate cannot reach Go (its JSON decoder turns it into U+FFFD), so print that.
  if (cp >= 0xd800 && cp <= 0xdfff) return '\ufffd';
  if (PRINTABLE.test(ch)) return ch;
  const short = SHORT_ESCAPES.get(cp);
  if (short !== undefined) return short;
  if (cp < 0x20 || cp === 0x7f) return `\\x${hex(cp, 2)}`;
  if (cp < 0x10000) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}
