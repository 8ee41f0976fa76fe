/**
 * admin.proto messages ⇄ datastore records, in one place (as SPIRE keeps api/entry.go apart from
 * its services). Incoming values are read defensively: a raw client can send any field, and the
 * decoder turns int64s into strings and leaves unset `optional` fields out.
 */
import type { AttestedAgent, EntryFilter, Page, RegistrationEntry, Selector, SelectorMatch } from '../../datastore/types.js';
import { RegistrationError, type EntryInput } from '../../registration/index.js';
import { invalidRequest } from './errors.js';
import type { AgentMsg, EntryFilterMsg, EntryMaskMsg, EntryMsg, SelectorMsg } from './messages.js';

/** Entry fields an update can set, in proto order: what a missing mask means. */
export const MASKABLE_FIELDS = [
  'spiffe_id', 'parent_id', 'selectors', 'x509_svid_ttl', 'federates_with', 'admin', 'downstream', 'expires_at',
  'dns_names', 'jwt_svid_ttl', 'hint',
] as const satisfies readonly (keyof EntryMaskMsg)[];

export function entryToMsg(e: RegistrationEntry): EntryMsg {
  return {
    id: e.id,
    spiffe_id: e.spiffeId,
    parent_id: e.parentId,
    selectors: e.selectors.map(selectorToMsg),
    x509_svid_ttl: e.x509SvidTtl,
    federates_with: [...e.federatesWith],
    admin: e.admin,
    downstream: e.downstream,
    expires_at: e.expiresAt ?? 0,
    dns_names: [...e.dnsNames],
    revision_number: e.revision,
    jwt_svid_ttl: e.jwtSvidTtl,
    hint: e.hint,
    created_at: e.createdAt,
  };
}

const selectorToMsg = (s: Selector): SelectorMsg => ({ type: s.type, value: s.value });

/**
 * A decoded int64 (a decimal string) as a number, for fields validation then checks for range;
 * one no JavaScript number holds exactly is rejected here, naming the field.
 */
function int64(field: string, v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new RegistrationError(field, `${String(v)} is out of range`);
  return n;
}

function selectorsFromMsg(v: unknown): Selector[] | undefined {
  if (!Array.isArray(v)) return undefined;
  // Null elements are left for validation, which names their index.
  return v.map((s: unknown) => s as Selector);
}

/** Every field of a proto Entry as validation input (validation decides what is acceptable). */
export function entryInputFromMsg(m: Partial<EntryMsg> | null | undefined): EntryInput {
  const msg = m ?? {};
  return {
    id: msg.id,
    spiffeId: msg.spiffe_id,
    parentId: msg.parent_id,
    selectors: selectorsFromMsg(msg.selectors),
    x509SvidTtl: msg.x509_svid_ttl,
    jwtSvidTtl: msg.jwt_svid_ttl,
    dnsNames: msg.dns_names,
    federatesWith: msg.federates_with,
    admin: msg.admin,
    downstream: msg.downstream,
    expiresAt: int64('expires_at', msg.expires_at) ?? null,
    hint: msg.hint,
  };
}

/**
 * The fields an update sets: those the mask selects (all of MASKABLE_FIELDS without a mask), with
 * proto3 defaults standing for "clear" (an empty hint, no DNS names, expires_at 0 = never).
 */
export function patchInputFromMsg(m: Partial<EntryMsg> | null | undefined, mask: EntryMaskMsg | null | undefined): Omit<EntryInput, 'id'> {
  const chosen = new Set<string>(mask ? MASKABLE_FIELDS.filter((f) => mask[f] === true) : MASKABLE_FIELDS);
  if (chosen.size === 0) throw invalidRequest('update: the mask selects no field: set the fields to change to true');
  if (m === null || m === undefined) throw invalidRequest('update: entry is required: it carries the new values');
  const all = entryInputFromMsg(m);
  const take = <K extends keyof EntryInput>(field: string, key: K): EntryInput[K] | undefined => (chosen.has(field) ? all[key] : undefined);
  return {
    spiffeId: take('spiffe_id', 'spiffeId'),
    parentId: take('parent_id', 'parentId'),
    selectors: take('selectors', 'selectors') ?? (chosen.has('selectors') ? [] : undefined),
    x509SvidTtl: take('x509_svid_ttl', 'x509SvidTtl'),
    jwtSvidTtl: take('jwt_svid_ttl', 'jwtSvidTtl'),
    dnsNames: take('dns_names', 'dnsNames') ?? (chosen.has('dns_names') ? [] : undefined),
    federatesWith: take('federates_with', 'federatesWith') ?? (chosen.has('federates_with') ? [] : undefined),
    admin: take('admin', 'admin'),
    downstream: take('downstream', 'downstream'),
    expiresAt: chosen.has('expires_at') ? (all.expiresAt ?? null) : undefined,
    hint: take('hint', 'hint'),
  };
}

const MATCHES: Record<string, SelectorMatch> = {
  MATCH_SUPERSET: 'superset',
  MATCH_EXACT: 'exact',
  MATCH_SUBSET: 'subset',
  MATCH_ANY: 'any',
};

export function filterFromMsg(f: EntryFilterMsg | null | undefined): EntryFilter {
  const filter: EntryFilter = {};
  if (!f) return filter;
  if (typeof f.by_spiffe_id === 'string') filter.spiffeId = f.by_spiffe_id;
  if (typeof f.by_parent_id === 'string') filter.parentId = f.by_parent_id;
  if (typeof f.by_federates_with === 'string') filter.federatesWith = f.by_federates_with;
  if (typeof f.by_hint === 'string') filter.hint = f.by_hint;
  if (typeof f.by_downstream === 'boolean') filter.downstream = f.by_downstream;
  if (f.by_selectors) {
    const match = MATCHES[String(f.by_selectors.match ?? 'MATCH_SUPERSET')];
    if (match === undefined) throw invalidRequest(`filter: by_selectors.match: unknown value ${JSON.stringify(f.by_selectors.match)}`);
    const selectors = (f.by_selectors.selectors ?? []).map((s, i) => {
      if (!s || typeof s.type !== 'string' || typeof s.value !== 'string' || s.type === '' || s.value === '') {
        throw invalidRequest(`filter: by_selectors.selectors[${i}]: a selector needs a type and a value`);
      }
      return { type: s.type, value: s.value };
    });
    filter.selectors = { match, selectors };
  }
  return filter;
}

export function pageFromMsg(pageSize: unknown, pageToken: unknown): Page {
  if (pageSize !== undefined && (typeof pageSize !== 'number' || !Number.isInteger(pageSize) || pageSize < 0)) {
    throw invalidRequest(`page_size: ${String(pageSize)} is not a whole number of at least 0`);
  }
  const page: Page = {};
  if (typeof pageSize === 'number' && pageSize > 0) page.pageSize = pageSize;
  if (typeof pageToken === 'string' && pageToken !== '') page.pageToken = pageToken;
  return page;
}

export function agentToMsg(a: AttestedAgent): AgentMsg {
  return {
    spiffe_id: a.spiffeId,
    attestation_type: a.attestationType,
    x509svid_serial_number: a.serialNumber,
    x509svid_expires_at: a.expiresAt,
    selectors: a.selectors.map(selectorToMsg),
    banned: a.banned,
    can_reattest: a.canReattest,
    agent_version: a.agentVersion,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  };
}
