/** Checks shared by every issuance path, so X.509 and JWT requests fail alike. */
import { messageOf, SigilError } from '../../spiffe/errors.js';
import type { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { CaError, CaErrorCode } from './errors.js';

const SEVEN_DAYS = 7 * 24 * 3600;

/** SPIRE's MaxSVIDTTLForCATTL: SVIDs may live a sixth of the CA's life (capped at 7 days). */
export function maxSvidTtlSeconds(caTtlSeconds: number): number {
  return Math.min(Math.floor(caTtlSeconds / 6), SEVEN_DAYS);
}

/** A requested TTL: absent or 0 means the default (as entries store it); otherwise whole positive seconds. */
export function resolveTtl(ttlSeconds: number | undefined, defaultSeconds: number, what: string): number {
  if (ttlSeconds === undefined || ttlSeconds === 0) return defaultSeconds;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0) {
    throw new CaError(CaErrorCode.invalid, `${what} TTL must be a whole number of seconds above 0, got ${ttlSeconds}`);
  }
  return ttlSeconds;
}

export function checkMember(trustDomain: TrustDomain, id: SpiffeId): void {
  if (!id.memberOf(trustDomain)) {
    throw new CaError(
      CaErrorCode.invalid,
      `SPIFFE ID "${id.toString()}" is not in trust domain "${trustDomain.name}": this CA signs only for its own trust domain`,
    );
  }
}

/** Our errors and spiffe/'s (bad DNS name, bad key) pass as they are; a failing key is a signing error. */
export function asIssuanceError(err: unknown, what: string): SigilError {
  if (err instanceof SigilError) return err;
  return new CaError(CaErrorCode.signing, `${what} failed: ${messageOf(err)}`, { cause: err });
}
