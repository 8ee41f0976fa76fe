/**
 * One check per entry field. Each takes `unknown`, because entries arrive from JSON files and from
 * protobuf decoders that the type system cannot vouch for, and returns the field's normalised value
 * or throws a RegistrationError naming it. None of them looks at another field, so a partial update
 * can be checked field by field without reading the stored entry (and racing a concurrent update).
 */
import { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import { messageOf } from '../../spiffe/errors.js';
import type { Selector } from '../datastore/types.js';
import { RegistrationError } from './errors.js';

export const MAX_ENTRY_ID_LENGTH = 255;
export const MAX_HINT_BYTES = 1024;
/** Paths under this prefix name sigil's own server and agents; no entry may claim one. */
export const RESERVED_PATH = '/sigil';

const ENTRY_ID = /^[A-Za-z0-9._-]+$/;
// RFC 1123 labels; a leading "*" label is a wildcard, as X.509 SAN dNSNames allow.
const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MAX_DNS_NAME = 253;
const CONTROL = /[\u0000-\u001f\u007f]/;
const SELECTOR_FORM = 'write selectors as type:value, e.g. unix:uid:1000';

const quote = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

/** Absent or "" (let the datastore assign a UUIDv4), or an operator-chosen id. */
export function checkEntryId(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new RegistrationError('id', `${quote(v)} is not a string`);
  if (v.length > MAX_ENTRY_ID_LENGTH) throw new RegistrationError('id', `longer than ${MAX_ENTRY_ID_LENGTH} characters`);
  if (!ENTRY_ID.test(v)) throw new RegistrationError('id', `${quote(v)} may contain only letters, digits, ".", "_" and "-"`);
  return v;
}

/** A SPIFFE ID of this trust domain, below its root. */
function checkMemberId(field: string, v: unknown, td: TrustDomain): SpiffeId {
  if (v === undefined || v === null || v === '') throw new RegistrationError(field, 'a SPIFFE ID is required');
  if (typeof v !== 'string') throw new RegistrationError(field, `${quote(v)} is not a string`);
  let id: SpiffeId;
  try {
    id = SpiffeId.fromString(v);
  } catch (err) {
    throw new RegistrationError(field, `${quote(v)} is not a valid SPIFFE ID: ${messageOf(err)}`);
  }
  if (!id.memberOf(td)) {
    throw new RegistrationError(field, `trust domain ${quote(id.trustDomain.name)} is not this server's trust domain ${quote(td.name)}`);
  }
  if (id.path === '') throw new RegistrationError(field, `${quote(v)} has no path: it names the whole trust domain, not a workload or node`);
  return id;
}

export function checkSpiffeId(v: unknown, td: TrustDomain): string {
  const id = checkMemberId('spiffe_id', v, td);
  if (id.path === RESERVED_PATH || id.path.startsWith(`${RESERVED_PATH}/`)) {
    throw new RegistrationError('spiffe_id', `${RESERVED_PATH}/… paths are reserved for sigil's own identities`);
  }
  return id.toString();
}

/** Any ID of this trust domain, including the server's (node-alias entries) and agents'. */
export function checkParentId(v: unknown, td: TrustDomain): string {
  return checkMemberId('parent_id', v, td).toString();
}

function checkSelector(field: string, v: unknown): Selector {
  if (typeof v !== 'object' || v === null) throw new RegistrationError(field, `${quote(v)} is not a selector: ${SELECTOR_FORM}`);
  const { type, value } = v as { type?: unknown; value?: unknown };
  if (typeof type !== 'string' || type === '') throw new RegistrationError(field, `type is empty: ${SELECTOR_FORM}`);
  if (typeof value !== 'string' || value === '') throw new RegistrationError(field, `value is empty: ${SELECTOR_FORM}`);
  if (type.includes(':')) throw new RegistrationError(field, `type ${quote(type)} contains ":": the type is the part before the first colon`);
  if (CONTROL.test(type) || CONTROL.test(value)) throw new RegistrationError(field, `${quote(`${type}:${value}`)} contains control characters`);
  return { type, value };
}

/** At least one; returned sorted by type then value, without duplicates (the form records keep). */
export function checkSelectors(v: unknown): Selector[] {
  if (!Array.isArray(v) || v.length === 0) throw new RegistrationError('selectors', 'at least one selector type:value is required');
  const selectors = v.map((s, i) => checkSelector(`selectors[${i}]`, s));
  const key = (s: Selector): string => JSON.stringify([s.type, s.value]);
  const unique = new Map(selectors.map((s) => [key(s), s]));
  return [...unique.values()].sort((a, b) => compare(a.type, b.type) || compare(a.value, b.value));
}

/** Whole seconds; 0 means the server's default and is always allowed. */
export function checkTtl(field: 'x509_svid_ttl' | 'jwt_svid_ttl', v: unknown, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new RegistrationError(field, `${quote(v)} is not a whole number of seconds`);
  if (v < 0) throw new RegistrationError(field, `${v} s is negative: use 0 for the server's default`);
  if (v > max) throw new RegistrationError(field, `${v} s is above the CA's maximum of ${max} s`);
  return v;
}

function isDnsName(name: string): boolean {
  const labels = name.split('.');
  return (
    name.length <= MAX_DNS_NAME &&
    labels.every((l, i) => DNS_LABEL.test(l) || (i === 0 && l === '*' && labels.length > 1))
  );
}

/** In their given order (the first becomes the certificate's CN), without duplicates. */
export function checkDnsNames(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RegistrationError('dns_names', 'must be a list of DNS names');
  const names = v.map((name, i) => {
    if (typeof name !== 'string' || !isDnsName(name)) throw new RegistrationError(`dns_names[${i}]`, `${quote(name)} is not a valid DNS name`);
    return name;
  });
  return [...new Set(names)];
}

/** Trust domain names (also accepted as `spiffe://name`, the form SPIRE's CLI takes), sorted. */
export function checkFederatesWith(v: unknown, own: TrustDomain): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RegistrationError('federates_with', 'must be a list of trust domain names');
  const names = v.map((item, i) => {
    const field = `federates_with[${i}]`;
    if (typeof item !== 'string') throw new RegistrationError(field, `${quote(item)} is not a trust domain name`);
    let td: TrustDomain;
    try {
      td = TrustDomain.fromString(item);
    } catch (err) {
      throw new RegistrationError(field, `${quote(item)} is not a valid trust domain name: ${messageOf(err)}`);
    }
    // TrustDomain.fromString drops an ID's path; a path here means the operator meant something else.
    if (item.includes(':/') && SpiffeId.fromString(item).path !== '') {
      throw new RegistrationError(field, `${quote(item)} names a workload, not a trust domain`);
    }
    if (td.equals(own)) throw new RegistrationError(field, `${quote(item)} is this server's own trust domain`);
    return td.name;
  });
  return [...new Set(names)].sort(compare);
}

export function checkBool(field: 'admin' | 'downstream', v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw new RegistrationError(field, `${quote(v)} is not true or false`);
  return v;
}

/** Unix seconds; absent, null or 0 mean "never". */
export function checkExpiresAt(v: unknown): number | null {
  if (v === undefined || v === null || v === 0) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new RegistrationError('expires_at', `${quote(v)} is not a time in unix seconds`);
  }
  return v;
}

export function checkHint(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new RegistrationError('hint', `${quote(v)} is not a string`);
  if (Buffer.byteLength(v, 'utf8') > MAX_HINT_BYTES) throw new RegistrationError('hint', `longer than ${MAX_HINT_BYTES} bytes`);
  return v;
}

function compare(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}
