/**
 * JWT-SVID parsing and validation, check for check in go-spiffe's order (jwtsvid/svid.go), so a
 * token go-spiffe rejects is rejected here with the same message. Stricter where JWT-SVID.md says
 * MUST and go-spiffe does not check: header parameters other than alg/kid/typ, and a missing or
 * empty `aud`.
 */
import { compactVerify, errors as joseErrors } from 'jose';
import type { JwtBundleSource, JwtAuthorities } from '../bundle/source.js';
import { SpiffeId, SpiffeIdError } from '../spiffeid/index.js';
import { keyMismatch } from './algorithms.js';
import { decodeClaims, type DecodedClaims } from './claims.js';
import { parseCompact, type CompactJws } from './compact.js';
import { JwtSvidError, JwtSvidRule, goQuote, goQuoteList } from './errors.js';
import { JwtSvid } from './svid.js';

/** Clock skew tolerated on exp, nbf and iat: go-jose's DefaultLeeway, which go-spiffe relies on. */
export const LEEWAY_SECONDS = 60;

export interface ValidateOptions {
  /** The time to validate at; defaults to the current time. */
  now?: Date;
}

/**
 * Parses a token and checks everything except its signature. Only for tokens that arrived over a
 * channel that already authenticates them (the Workload API hands a workload its own SVIDs).
 * An empty `expectedAudience` skips the audience match, as in go-spiffe, but `aud` must exist.
 */
export function parseInsecure(
  token: string,
  expectedAudience: readonly string[],
  opts: ValidateOptions = {},
): JwtSvid {
  const unverified = parseUnverified(token);
  return checkClaims(token, unverified, expectedAudience, opts);
}

/**
 * Parses a token, verifies its signature with the JWT authority its `kid` names in the bundle of
 * its subject's trust domain, and checks its claims. An empty `expectedAudience` skips the
 * audience match, as in go-spiffe, but `aud` must exist.
 */
export async function parseAndValidate(
  token: string,
  bundles: JwtBundleSource,
  expectedAudience: readonly string[],
  opts: ValidateOptions = {},
): Promise<JwtSvid> {
  const unverified = parseUnverified(token);
  const { jws, id } = unverified;
  // go-spiffe needs kid to pick the key although JWT-SVID.md 2.2 makes it optional; SPIRE and
  // sigil always set it, and trying every key of a bundle would invite key-confusion bugs.
  const kid = jws.header.kid;
  if (kid === undefined) throw new JwtSvidError(JwtSvidRule.missingKeyId);

  const td = id.trustDomain;
  let authorities: JwtAuthorities;
  try {
    authorities = bundles.getJwtBundleForTrustDomain(td);
  } catch (cause) {
    throw new JwtSvidError(`no bundle found for trust domain ${goQuote(td.name)}`, { cause });
  }
  // Keys of one trust domain must never vouch for another's IDs (SPIFFE_Federation.md 6).
  if (!authorities.trustDomain.equals(td)) {
    throw new JwtSvidError(`no bundle found for trust domain ${goQuote(td.name)}`, {
      cause: new Error(`the bundle source answered with the bundle of ${goQuote(authorities.trustDomain.name)}`),
    });
  }
  const key = authorities.findJwtAuthority(kid);
  if (key === undefined) {
    throw new JwtSvidError(`no JWT authority ${goQuote(kid)} found for trust domain ${goQuote(td.name)}`);
  }

  const mismatch = keyMismatch(jws.header.alg, key);
  if (mismatch !== undefined) throw new JwtSvidError(`${JwtSvidRule.badClaims}: ${mismatch} (JWT authority ${goQuote(kid)})`);
  try {
    await compactVerify(token, key, { algorithms: [jws.header.alg] });
  } catch (cause) {
    const detail =
      cause instanceof joseErrors.JWSSignatureVerificationFailed
        ? 'signature verification failed'
        : `signature could not be verified: ${cause instanceof Error ? cause.message : String(cause)}`;
    throw new JwtSvidError(`${JwtSvidRule.badClaims}: ${detail}`, { cause });
  }
  return checkClaims(token, unverified, expectedAudience, opts);
}

interface Unverified {
  readonly jws: CompactJws;
  readonly claims: DecodedClaims;
  readonly id: SpiffeId;
  /** The `exp` claim, known present by then. */
  readonly exp: number;
}

/** Steps 1–6: structure, alg, typ, header parameters, claims decode, sub, exp, sub as SPIFFE ID. */
function parseUnverified(token: string): Unverified {
  const jws = parseCompact(token);
  const claims = decodeClaims(jws.payload);
  const { sub, exp } = claims.registered;
  if (sub === undefined) throw new JwtSvidError(JwtSvidRule.missingSubject);
  if (exp === undefined) throw new JwtSvidError(JwtSvidRule.missingExp);
  let id: SpiffeId;
  try {
    id = SpiffeId.fromString(sub);
  } catch (err) {
    if (!(err instanceof SpiffeIdError)) throw err;
    throw new JwtSvidError(`${JwtSvidRule.badSubject}: ${err.message}`, { cause: err });
  }
  return { jws, claims, id, exp };
}

/** Steps 11–14: audience, then nbf, exp and iat with the leeway, as go-jose's Validate orders them. */
function checkClaims(
  token: string,
  { claims, id, exp }: Unverified,
  expectedAudience: readonly string[],
  opts: ValidateOptions,
): JwtSvid {
  const now = (opts.now ?? new Date()).getTime();
  if (Number.isNaN(now)) throw new TypeError('jwtsvid: opts.now is an invalid Date');
  const { aud, nbf, iat } = claims.registered;
  // JWT-SVID.md 3: validators MUST reject a token without aud, whatever audience they expect.
  if (aud === undefined) throw new JwtSvidError(JwtSvidRule.missingAud);
  if (aud.length === 0) throw new JwtSvidError(JwtSvidRule.emptyAud);
  if (expectedAudience.length > 0 && !aud.some((a) => expectedAudience.includes(a))) {
    throw new JwtSvidError(
      `expected audience in ${goQuoteList(expectedAudience)} (audience=${goQuoteList(aud)})`,
    );
  }

  const leeway = LEEWAY_SECONDS * 1000;
  if (nbf !== undefined && now + leeway < nbf * 1000) throw new JwtSvidError(JwtSvidRule.notYetValid);
  const expMs = exp * 1000;
  if (now - leeway > expMs) throw new JwtSvidError(JwtSvidRule.expired);
  if (iat !== undefined && now + leeway < iat * 1000) throw new JwtSvidError(JwtSvidRule.issuedInFuture);

  return new JwtSvid({ id, audience: aud, expiry: new Date(expMs), claims: claims.all, token });
}
