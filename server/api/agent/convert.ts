/** Datastore records to agent API messages. */
import type { RegistrationEntry } from '../../datastore/types.js';
import type { EntryMessage } from './messages.js';

export function entryMessage(e: RegistrationEntry): EntryMessage {
  return {
    id: e.id,
    spiffe_id: e.spiffeId,
    parent_id: e.parentId,
    selectors: e.selectors.map((s) => ({ type: s.type, value: s.value })),
    x509_svid_ttl: e.x509SvidTtl,
    jwt_svid_ttl: e.jwtSvidTtl,
    dns_names: e.dnsNames,
    federates_with: e.federatesWith,
    hint: e.hint,
    admin: e.admin,
    downstream: e.downstream,
    revision: e.revision,
    created_at: e.createdAt,
  };
}

/** Unix seconds of a Date, as the API's int64 times are. */
export const unixSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
