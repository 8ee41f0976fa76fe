/**
 * When an X.509-SVID is renewed: at half its life with ±10 % jitter (45–55 % of the lifetime
 * elapsed), SPIRE's rule for agent and workload SVIDs. The jitter spreads the renewals of SVIDs
 * minted together (a mass deploy, an agent restart) so they do not all return to the server at
 * once (SPIRE issue #4268). The lifetime runs from when the agent asked, not from the backdated
 * notBefore, so a short TTL still gets half of its real life.
 */

/** Jitter as a fraction of the half-life, either way. */
export const ROTATION_JITTER = 0.1;

export function rotationTimeMs(startMs: number, expiresAtMs: number, random: () => number = Math.random): number {
  const lifetime = Math.max(0, expiresAtMs - startMs);
  const fraction = 0.5 * (1 + ROTATION_JITTER * (2 * random() - 1));
  return startMs + lifetime * fraction;
}
