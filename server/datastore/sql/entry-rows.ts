/**
 * Registration entries between record and rows: the entry row, its selectors, DNS names and
 * federated trust domains in child tables, and the hashes that make duplicates detectable by one
 * index lookup.
 */
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { RegistrationEntry, Selector } from '../types.js';
import type { Database, EntryRow } from './schema.js';
import { q } from '../errors.js';
import {
  INT32,
  checkInt,
  checkIntOrNull,
  chunk,
  compareSelectors,
  fromBool,
  normalizeSelectors,
  sortedUnique,
  toBool,
  toNumber,
  toNumberOrNull,
  uniqueInOrder,
} from './values.js';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** Of normalized selectors: equal sets give equal hashes. */
export const selectorsHash = (selectors: readonly Selector[]): string =>
  sha256(JSON.stringify(selectors.map((s) => [s.type, s.value])));

/** What makes two entries duplicates: the same SPIFFE ID, parent ID and selector set. */
export const uniqueKey = (spiffeId: string, parentId: string, selHash: string): string =>
  sha256(JSON.stringify([spiffeId, parentId, selHash]));

/**
 * Copies exactly the record's fields (callers may pass objects with more), with lists in the form
 * records promise: selectors and trust domains sorted without duplicates, DNS names deduplicated
 * in their given order.
 */
export function normalizeEntry(e: RegistrationEntry): RegistrationEntry {
  return {
    id: e.id,
    spiffeId: e.spiffeId,
    parentId: e.parentId,
    selectors: normalizeSelectors(e.selectors),
    x509SvidTtl: e.x509SvidTtl,
    jwtSvidTtl: e.jwtSvidTtl,
    dnsNames: uniqueInOrder(e.dnsNames),
    federatesWith: sortedUnique(e.federatesWith),
    admin: e.admin,
    downstream: e.downstream,
    expiresAt: e.expiresAt,
    hint: e.hint,
    revision: e.revision,
    createdAt: e.createdAt,
  };
}

export function entryRow(entry: RegistrationEntry, updatedAt: number): EntryRow {
  const selHash = selectorsHash(entry.selectors);
  const what = (field: string): string => `entry ${q(entry.id)}: ${field}`;
  return {
    id: entry.id,
    spiffe_id: entry.spiffeId,
    parent_id: entry.parentId,
    selectors_hash: selHash,
    unique_key: uniqueKey(entry.spiffeId, entry.parentId, selHash),
    x509_svid_ttl: checkInt(what('x509SvidTtl'), entry.x509SvidTtl, INT32),
    jwt_svid_ttl: checkInt(what('jwtSvidTtl'), entry.jwtSvidTtl, INT32),
    admin: fromBool(entry.admin),
    downstream: fromBool(entry.downstream),
    expires_at: checkIntOrNull(what('expiresAt'), entry.expiresAt),
    hint: entry.hint,
    revision: entry.revision,
    created_at: entry.createdAt,
    updated_at: updatedAt,
  };
}

export async function insertEntryChildren(db: Kysely<Database>, entries: readonly RegistrationEntry[], maxParams: number): Promise<void> {
  const selectors = entries.flatMap((e) => e.selectors.map((s) => ({ entry_id: e.id, type: s.type, value: s.value })));
  for (const part of chunk(selectors, 3, maxParams)) await db.insertInto('entry_selectors').values(part).execute();
  const dns = entries.flatMap((e) => e.dnsNames.map((value, position) => ({ entry_id: e.id, position, value })));
  for (const part of chunk(dns, 3, maxParams)) await db.insertInto('entry_dns_names').values(part).execute();
  const fed = entries.flatMap((e) => e.federatesWith.map((trust_domain) => ({ entry_id: e.id, trust_domain })));
  for (const part of chunk(fed, 2, maxParams)) await db.insertInto('entry_federates_with').values(part).execute();
}

export async function deleteEntryChildren(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('entry_selectors').where('entry_id', '=', id).execute();
  await db.deleteFrom('entry_dns_names').where('entry_id', '=', id).execute();
  await db.deleteFrom('entry_federates_with').where('entry_id', '=', id).execute();
}

/** Records for `rows`, in the same order, with their child rows read in a few batched queries. */
export async function loadEntries(db: Kysely<Database>, rows: readonly EntryRow[], maxParams: number): Promise<RegistrationEntry[]> {
  const selectors = new Map<string, Selector[]>();
  const dns = new Map<string, { position: number; value: string }[]>();
  const fed = new Map<string, string[]>();
  const push = <V>(map: Map<string, V[]>, key: string, v: V): void => {
    const list = map.get(key);
    if (list) list.push(v);
    else map.set(key, [v]);
  };
  for (const ids of chunk(rows.map((r) => r.id), 1, maxParams)) {
    if (ids.length === 0) continue;
    const sel = await db.selectFrom('entry_selectors').selectAll().where('entry_id', 'in', ids).execute();
    for (const s of sel) push(selectors, s.entry_id, { type: s.type, value: s.value });
    const names = await db.selectFrom('entry_dns_names').selectAll().where('entry_id', 'in', ids).execute();
    for (const n of names) push(dns, n.entry_id, { position: toNumber(n.position), value: n.value });
    const tds = await db.selectFrom('entry_federates_with').selectAll().where('entry_id', 'in', ids).execute();
    for (const t of tds) push(fed, t.entry_id, t.trust_domain);
  }
  return rows.map((r) => ({
    id: r.id,
    spiffeId: r.spiffe_id,
    parentId: r.parent_id,
    selectors: (selectors.get(r.id) ?? []).sort(compareSelectors),
    x509SvidTtl: toNumber(r.x509_svid_ttl),
    jwtSvidTtl: toNumber(r.jwt_svid_ttl),
    dnsNames: (dns.get(r.id) ?? []).sort((a, b) => a.position - b.position).map((n) => n.value),
    federatesWith: sortedUnique(fed.get(r.id) ?? []),
    admin: toBool(r.admin),
    downstream: toBool(r.downstream),
    expiresAt: toNumberOrNull(r.expires_at),
    hint: r.hint,
    revision: toNumber(r.revision),
    createdAt: toNumber(r.created_at),
  }));
}
