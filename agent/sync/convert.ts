/** Entries as SyncEntries sends them, to the cache's immutable form. */
import type { SyncedEntry } from '../cache/entry.js';
import type { EntryMessage } from '../client/messages.js';

export function syncedEntry(m: EntryMessage): SyncedEntry {
  return Object.freeze({
    id: m.id,
    spiffeId: m.spiffe_id,
    parentId: m.parent_id,
    selectors: Object.freeze(m.selectors.map((s) => Object.freeze({ type: s.type, value: s.value }))),
    x509SvidTtl: m.x509_svid_ttl,
    jwtSvidTtl: m.jwt_svid_ttl,
    dnsNames: Object.freeze([...m.dns_names]),
    federatesWith: Object.freeze([...m.federates_with]),
    hint: m.hint,
    admin: m.admin,
    downstream: m.downstream,
    revision: Number(m.revision),
    createdAt: Number(m.created_at),
  });
}
