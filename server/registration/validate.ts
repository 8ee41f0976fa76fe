/**
 * Registration-entry validation (SPIRE's pkg/server/api/entry.go rules, plus sigil's TTL ceiling):
 * valid SPIFFE IDs of this trust domain, a spiffe_id outside the reserved /sigil/ paths, at least
 * one selector, TTLs within what the CA can honour, valid DNS names and trust domain names, a hint
 * of at most 1024 bytes. Duplicates (same spiffe_id, parent_id and selector set) are the
 * datastore's to catch, inside the transaction that would create them.
 */
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { EntryPatch, NewEntry, Selector } from '../datastore/types.js';
import {
  checkBool, checkDnsNames, checkEntryId, checkExpiresAt, checkFederatesWith, checkHint, checkParentId, checkSelectors,
  checkSpiffeId, checkTtl,
} from './fields.js';

export interface ValidationLimits {
  trustDomain: TrustDomain;
  /** The longest X.509-SVID TTL an entry may ask for, in seconds (the CA's maximum). */
  maxX509SvidTtl: number;
  /** The longest JWT-SVID TTL an entry may ask for, in seconds. */
  maxJwtSvidTtl: number;
}

/**
 * An entry as callers describe it: record field names, every field optional so that absent and
 * wrongly typed values reach the checks (which name them) instead of failing somewhere later.
 */
export interface EntryInput {
  id?: string;
  spiffeId?: string;
  parentId?: string;
  selectors?: readonly Selector[];
  x509SvidTtl?: number;
  jwtSvidTtl?: number;
  dnsNames?: readonly string[];
  federatesWith?: readonly string[];
  admin?: boolean;
  downstream?: boolean;
  /** Unix seconds; null or 0 = never. */
  expiresAt?: number | null;
  hint?: string;
}

/** The entry the datastore should create, or a RegistrationError naming the first bad field. */
export function validateEntry(input: EntryInput, limits: ValidationLimits): NewEntry {
  if (typeof input !== 'object' || input === null) throw new TypeError('validateEntry: input must be an object');
  const id = checkEntryId(input.id);
  const entry: NewEntry = {
    spiffeId: checkSpiffeId(input.spiffeId, limits.trustDomain),
    parentId: checkParentId(input.parentId, limits.trustDomain),
    selectors: checkSelectors(input.selectors),
    x509SvidTtl: checkTtl('x509_svid_ttl', input.x509SvidTtl, limits.maxX509SvidTtl),
    jwtSvidTtl: checkTtl('jwt_svid_ttl', input.jwtSvidTtl, limits.maxJwtSvidTtl),
    dnsNames: checkDnsNames(input.dnsNames),
    federatesWith: checkFederatesWith(input.federatesWith, limits.trustDomain),
    admin: checkBool('admin', input.admin),
    downstream: checkBool('downstream', input.downstream),
    expiresAt: checkExpiresAt(input.expiresAt),
    hint: checkHint(input.hint),
  };
  return id === undefined ? entry : { id, ...entry };
}

/**
 * The fields an update sets, each checked as validateEntry checks it; absent (undefined) fields
 * are left out, so the stored values stay. `id` cannot be changed and is ignored here.
 */
export function validateEntryPatch(input: Omit<EntryInput, 'id'>, limits: ValidationLimits): EntryPatch {
  if (typeof input !== 'object' || input === null) throw new TypeError('validateEntryPatch: input must be an object');
  const td = limits.trustDomain;
  const patch: EntryPatch = {};
  if (input.spiffeId !== undefined) patch.spiffeId = checkSpiffeId(input.spiffeId, td);
  if (input.parentId !== undefined) patch.parentId = checkParentId(input.parentId, td);
  if (input.selectors !== undefined) patch.selectors = checkSelectors(input.selectors);
  if (input.x509SvidTtl !== undefined) patch.x509SvidTtl = checkTtl('x509_svid_ttl', input.x509SvidTtl, limits.maxX509SvidTtl);
  if (input.jwtSvidTtl !== undefined) patch.jwtSvidTtl = checkTtl('jwt_svid_ttl', input.jwtSvidTtl, limits.maxJwtSvidTtl);
  if (input.dnsNames !== undefined) patch.dnsNames = checkDnsNames(input.dnsNames);
  if (input.federatesWith !== undefined) patch.federatesWith = checkFederatesWith(input.federatesWith, td);
  if (input.admin !== undefined) patch.admin = checkBool('admin', input.admin);
  if (input.downstream !== undefined) patch.downstream = checkBool('downstream', input.downstream);
  if (input.expiresAt !== undefined) patch.expiresAt = checkExpiresAt(input.expiresAt);
  if (input.hint !== undefined) patch.hint = checkHint(input.hint);
  return patch;
}
