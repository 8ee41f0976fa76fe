/** Entries as spire-server prints them: aligned text blocks, or JSON with SPIRE's field names. */
import type { EntryMsg } from '../../api/admin/messages.js';
import { block, formatTime } from '../output.js';

const num = (v: string | number): number => (typeof v === 'string' ? Number(v) : v);
const ttl = (seconds: number): string => (seconds === 0 ? 'default' : String(seconds));

export function entryText(e: EntryMsg): string {
  const expires = num(e.expires_at);
  return block([
    ['Entry ID', e.id],
    ['SPIFFE ID', e.spiffe_id],
    ['Parent ID', e.parent_id],
    ['Revision', String(num(e.revision_number))],
    ['Downstream', e.downstream ? 'true' : undefined],
    ['X509-SVID TTL', ttl(e.x509_svid_ttl)],
    ['JWT-SVID TTL', ttl(e.jwt_svid_ttl)],
    ['Expiration time', expires === 0 ? undefined : formatTime(expires)],
    ['Selector', e.selectors.map((s) => `${s.type}:${s.value}`)],
    ['FederatesWith', e.federates_with],
    ['DNS name', e.dns_names],
    ['Admin', e.admin ? 'true' : undefined],
    ['Hint', e.hint === '' ? undefined : e.hint],
    ['Created at', formatTime(num(e.created_at))],
  ]);
}

export function entriesText(entries: readonly EntryMsg[]): string {
  return entries.map(entryText).join('\n\n');
}

/** The JSON form: also valid input for `entry create --data` (output-only fields are skipped there). */
export function entryJson(e: EntryMsg): Record<string, unknown> {
  return {
    id: e.id,
    spiffe_id: e.spiffe_id,
    parent_id: e.parent_id,
    selectors: e.selectors.map((s) => ({ type: s.type, value: s.value })),
    x509_svid_ttl: e.x509_svid_ttl,
    jwt_svid_ttl: e.jwt_svid_ttl,
    federates_with: e.federates_with,
    admin: e.admin,
    downstream: e.downstream,
    expires_at: num(e.expires_at),
    dns_names: e.dns_names,
    revision_number: num(e.revision_number),
    hint: e.hint,
    created_at: num(e.created_at),
  };
}
