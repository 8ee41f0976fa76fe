/** This server's authorities as `sigil server ca show|rotate` print them. */
import type { AuthorityMsg, ListAuthoritiesMsg, RotationScheduleMsg } from '../../api/admin/messages.js';
import { block, formatTime, plural } from '../output.js';

const time = (seconds: string | number): string | undefined => (Number(seconds) > 0 ? formatTime(Number(seconds)) : undefined);

function authorityText(a: AuthorityMsg): string {
  return block([
    ['Status', a.status],
    ['Slot', a.slot],
    [a.kind === 'x509' ? 'Authority ID' : 'Key ID', a.id],
    ['Key location', a.key_location],
    ['Issued at', time(a.issued_at)],
    ['Not after', time(a.not_after)],
    ['Upstream', a.kind === 'x509' ? (a.upstream ? 'yes (the bundle holds the upstream root)' : 'no (self-signed)') : undefined],
    ['Leaves bundle at', a.status === 'old' ? time(a.prune_at) : undefined],
  ]);
}

function scheduleText(s: RotationScheduleMsg): string {
  return block([
    ['Next prepare', time(s.prepare_at) ?? 'none: one is prepared'],
    ['Next activate', time(s.activate_at)],
  ]);
}

export function authoritiesText(r: ListAuthoritiesMsg): string {
  const section = (kind: 'x509' | 'jwt', title: string, one: string, many: string): string => {
    const list = r.authorities.filter((a) => a.kind === kind);
    return [`${title}: ${plural(list.length, one, many)}`, ...list.map(authorityText), scheduleText(r[kind])].join('\n\n');
  };
  return [
    `Key manager: ${r.key_manager}`,
    section('x509', 'X.509 CA', 'authority', 'authorities'),
    section('jwt', 'JWT signing keys', 'key', 'keys'),
  ].join('\n\n');
}

const num = (v: string | number): number | null => (Number(v) > 0 ? Number(v) : null);

export function authoritiesJson(r: ListAuthoritiesMsg): Record<string, unknown> {
  const kind = (k: 'x509' | 'jwt') => ({
    authorities: r.authorities
      .filter((a) => a.kind === k)
      .map((a) => ({
        status: a.status,
        slot: a.slot,
        [k === 'x509' ? 'authority_id' : 'key_id']: a.id,
        key_location: a.key_location,
        issued_at: Number(a.issued_at),
        expires_at: Number(a.not_after),
        ...(k === 'x509' ? { upstream: a.upstream } : {}),
        ...(a.status === 'old' ? { prune_at: num(a.prune_at) } : {}),
      })),
    next_prepare_at: num(r[k].prepare_at),
    next_activate_at: num(r[k].activate_at),
  });
  return { key_manager: r.key_manager, x509: kind('x509'), jwt: kind('jwt') };
}
