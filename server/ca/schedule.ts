/**
 * When an authority (X.509 CA or JWT key) is replaced, SPIRE's thresholds: the next one is prepared
 * when min(life/2, 30 d) remains and activated when min(life/6, 7 d) remains; the SVID TTL cap of
 * a sixth of the CA TTL (requests.ts) is what lets every SVID the old one signed be renewed by the
 * new one before the old one expires. After it expires, an old authority leaves the bundle once a
 * margin for verifiers' clock skew has passed as well: nothing it signed outlives its notAfter
 * (SVIDs and JWT-SVIDs are capped at it), so the margin is all that is left to cover.
 */

const DAY_MS = 24 * 3600 * 1000;
const MAX_PREPARE_LEAD_MS = 30 * DAY_MS;
const MAX_ACTIVATE_LEAD_MS = 7 * DAY_MS;
/** The widest margin any server keeps; other servers' authorities are pruned after it (rotation.ts). */
export const MAX_PRUNE_MARGIN_MS = 3600 * 1000;

export interface Lifetime {
  issuedAt: Date;
  notAfter: Date;
}

const lifeMs = (a: Lifetime): number => a.notAfter.getTime() - a.issuedAt.getTime();

/** When the next authority is prepared, at ½ of this one's life (at most 30 days before its end). */
export function prepareAt(a: Lifetime): Date {
  return new Date(a.notAfter.getTime() - Math.min(lifeMs(a) / 2, MAX_PREPARE_LEAD_MS));
}

/** When the prepared authority replaces this one, at ⅚ of its life (at most 7 days before its end). */
export function activateAt(a: Lifetime): Date {
  return new Date(a.notAfter.getTime() - Math.min(lifeMs(a) / 6, MAX_ACTIVATE_LEAD_MS));
}

export function pastActivation(a: Lifetime, now: Date): boolean {
  return now >= activateAt(a);
}

/**
 * How long after its expiry an old authority stays in the bundle: a sixth of the CA TTL, at most an
 * hour (SPIRE keeps expired authorities for a day, but only prunes every 6 hours).
 */
export function pruneMarginMs(caTtlSeconds: number): number {
  return Math.min((caTtlSeconds * 1000) / 6, MAX_PRUNE_MARGIN_MS);
}

export function pruneAt(notAfter: Date, marginMs: number): Date {
  return new Date(notAfter.getTime() + marginMs);
}
