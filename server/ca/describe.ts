/** What `sigil server ca show` lists: this server's authorities from its journal, and the schedule. */
import type { AuthorityStatus } from './journal.js';
import type { KindName } from './kinds.js';
import type { Schedule } from './rotation.js';
import { pruneAt } from './schedule.js';
import type { CaState } from './startup.js';

export interface AuthorityView {
  kind: KindName;
  status: AuthorityStatus;
  slot: string;
  /** X.509: the SKID in hex (SPIRE's authority ID); JWT: the kid. */
  id: string;
  /** Where the key is (or was, for an old authority whose slot has since been reused). */
  keyLocation: string;
  issuedAt: Date;
  notAfter: Date;
  /** X.509 only: signed by an upstream CA rather than self-signed. */
  upstream?: boolean;
  /** Old only: when it leaves the bundle. */
  pruneAt?: Date;
}

export interface CaAuthorities {
  keyManager: string;
  authorities: AuthorityView[];
  x509: Schedule;
  jwt: Schedule;
}

const ORDER: Readonly<Record<AuthorityStatus, number>> = { active: 0, prepared: 1, old: 2 };

export function describeAuthorities(
  state: CaState, keyManagerType: string, s: { x509: Schedule; jwt: Schedule; pruneMarginMs: number },
): CaAuthorities {
  const at = (seconds: number): Date => new Date(seconds * 1000);
  const common = (r: { status: AuthorityStatus; slot: string; keyId: string; keyLocation?: string; issuedAt: number; notAfter: number }) => ({
    status: r.status,
    slot: r.slot,
    keyLocation: r.keyLocation ?? `${keyManagerType}:${r.keyId}`,
    issuedAt: at(r.issuedAt),
    notAfter: at(r.notAfter),
    ...(r.status === 'old' ? { pruneAt: pruneAt(at(r.notAfter), s.pruneMarginMs) } : {}),
  });
  const views: AuthorityView[] = [
    ...state.journal.x509CAs.map((r) => ({ kind: 'x509' as const, id: r.authorityId, upstream: r.upstreamRoots.length > 0, ...common(r) })),
    ...state.journal.jwtKeys.map((r) => ({ kind: 'jwt' as const, id: r.kid, ...common(r) })),
  ];
  views.sort((a, b) => a.kind.localeCompare(b.kind) * -1 || ORDER[a.status] - ORDER[b.status] || b.issuedAt.getTime() - a.issuedAt.getTime());
  return { keyManager: keyManagerType, authorities: views, x509: s.x509, jwt: s.jwt };
}
