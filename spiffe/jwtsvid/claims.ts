import { JwtSvidError, JwtSvidRule } from './errors.js';
import { decodeJsonObject } from './compact.js';

/**
 * The registered claims validation looks at, typed. Absent and JSON null are the same (go-jose
 * decodes both to the zero value), and so is an empty `sub`.
 */
export interface RegisteredClaims {
  readonly sub: string | undefined;
  readonly aud: string[] | undefined;
  /** Whole seconds since the epoch, fractions dropped as go-jose drops them. */
  readonly exp: number | undefined;
  readonly nbf: number | undefined;
  readonly iat: number | undefined;
}

export interface DecodedClaims {
  /** Every claim as it appeared in the token. */
  readonly all: Record<string, unknown>;
  readonly registered: RegisteredClaims;
}

// A Date can hold ±8.64e15 ms; a NumericDate beyond that has no meaningful expiry.
const MAX_NUMERIC_DATE = 8.64e12;

/** Step 3 of validation: the claims decode, with go-jose's type rules for registered claims. */
export function decodeClaims(payload: string): DecodedClaims {
  const all = decodeJsonObject(payload);
  if (all === undefined) throw badClaims('claims are not a JSON object');
  const registered = readRegisteredClaims(all);
  if (typeof registered === 'string') throw badClaims(registered);
  return { all, registered };
}

/**
 * Types the registered claims of a claims object, or says which one has a type go-jose would
 * refuse to decode (iss and jti included, so a token we sign passes go-jose too).
 */
export function readRegisteredClaims(all: Readonly<Record<string, unknown>>): RegisteredClaims | string {
  for (const name of ['iss', 'sub', 'jti']) {
    const v = all[name];
    if (v !== undefined && v !== null && typeof v !== 'string') return `claim "${name}" must be a string`;
  }
  const aud = readAudience(all['aud']);
  if (aud === false) return 'claim "aud" must be a string or an array of strings';
  const dates: Partial<Record<'exp' | 'nbf' | 'iat', number>> = {};
  for (const name of ['exp', 'nbf', 'iat'] as const) {
    const v = all[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || Math.abs(v) > MAX_NUMERIC_DATE) {
      return `claim "${name}" must be a number of seconds since the epoch`;
    }
    dates[name] = Math.trunc(v);
  }
  const sub = all['sub'];
  return {
    sub: typeof sub === 'string' && sub.length > 0 ? sub : undefined,
    aud,
    exp: dates.exp,
    nbf: dates.nbf,
    iat: dates.iat,
  };
}

/** The audience list, undefined when absent, false when of the wrong type. */
function readAudience(v: unknown): string[] | undefined | false {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((a): a is string => typeof a === 'string')) return [...v];
  return false;
}

function badClaims(detail: string): JwtSvidError {
  return new JwtSvidError(`${JwtSvidRule.badClaims}: ${detail}`);
}
