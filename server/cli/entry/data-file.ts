/**
 * `entry create --data FILE|-`: spire-server's `-data` format, `{"entries":[{…}]}`, so entries move
 * from SPIRE unchanged. Field names are accepted as protojson accepts them (snake_case or
 * lowerCamelCase), SPIFFE IDs as strings or SPIRE's `{trust_domain, path}` objects (the form
 * `spire-server entry show -output json` prints), and `entry_id`/`entry_expiry` under their
 * RegistrationEntry names too. Output-only fields are ignored; anything else is an error.
 */
import { readFileSync } from 'node:fs';
import { messageOf } from '../../../spiffe/errors.js';
import type { EntryMsg, SelectorMsg } from '../../api/admin/messages.js';
import { CliError } from '../output.js';

type Reader = (raw: unknown, where: string) => unknown;

const FORMAT_HINT = 'The file must hold {"entries": [{"spiffe_id": …, "parent_id": …, "selectors": [{"type": …, "value": …}]}, …]}.';

function fail(where: string, message: string): never {
  throw new CliError(`${where}: ${message}`, FORMAT_HINT);
}

const str: Reader = (raw, where) => (typeof raw === 'string' ? raw : fail(where, 'must be a string'));

const bool: Reader = (raw, where) => (typeof raw === 'boolean' ? raw : fail(where, 'must be true or false'));

/** protojson writes int64 as a string and int32 as a number; both are read. */
const int: Reader = (raw, where) => {
  const n = typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : raw;
  return typeof n === 'number' && Number.isSafeInteger(n) ? n : fail(where, 'must be a whole number');
};

const id: Reader = (raw, where) => {
  if (typeof raw === 'string') return raw;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const { trust_domain: td, trustDomain, path } = raw as Record<string, unknown>;
    const name = td ?? trustDomain;
    if (typeof name === 'string' && (path === undefined || typeof path === 'string')) return `spiffe://${name}${path ?? ''}`;
  }
  return fail(where, 'must be a SPIFFE ID string or {"trust_domain": …, "path": …}');
};

const list = (item: Reader): Reader => (raw, where) =>
  Array.isArray(raw) ? raw.map((v, i) => item(v, `${where}[${i}]`)) : fail(where, 'must be a list');

const selector: Reader = (raw, where): SelectorMsg => {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail(where, 'must be {"type": …, "value": …}');
  const { type, value, ...rest } = raw as Record<string, unknown>;
  const extra = Object.keys(rest)[0];
  if (extra !== undefined) fail(`${where}.${extra}`, 'unknown field');
  return { type: str(type ?? '', `${where}.type`) as string, value: str(value ?? '', `${where}.value`) as string };
};

/** Accepted names → [Entry field, reader]. */
const FIELDS: Record<string, [keyof EntryMsg, Reader]> = {};
const accept = (field: keyof EntryMsg, reader: Reader, ...names: string[]): void => {
  for (const n of names) FIELDS[n] = [field, reader];
};
accept('id', str, 'id', 'entry_id', 'entryId');
accept('spiffe_id', id, 'spiffe_id', 'spiffeId');
accept('parent_id', id, 'parent_id', 'parentId');
accept('selectors', list(selector), 'selectors');
// SPIRE's old `ttl` is the X509-SVID TTL.
accept('x509_svid_ttl', int, 'x509_svid_ttl', 'x509SvidTtl', 'ttl');
accept('jwt_svid_ttl', int, 'jwt_svid_ttl', 'jwtSvidTtl');
accept('dns_names', list(str), 'dns_names', 'dnsNames');
accept('federates_with', list(str), 'federates_with', 'federatesWith');
accept('admin', bool, 'admin');
accept('downstream', bool, 'downstream');
accept('expires_at', int, 'expires_at', 'expiresAt', 'entry_expiry', 'entryExpiry');
accept('hint', str, 'hint');

const OUTPUT_ONLY = new Set(['revision_number', 'revisionNumber', 'created_at', 'createdAt']);
/** SPIRE features sigil does not have: accepted only when they ask for nothing. */
const UNSUPPORTED = new Set(['store_svid', 'storeSvid', 'additional_attributes', 'additionalAttributes']);

function entryFrom(raw: unknown, where: string): Partial<EntryMsg> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(where, 'must be an object');
  const entry: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (OUTPUT_ONLY.has(name) || value === null) continue;
    if (UNSUPPORTED.has(name)) {
      if (value === false || (typeof value === 'object' && Object.values(value as object).every((v) => !v))) continue;
      fail(`${where}.${name}`, 'is not supported by sigil');
    }
    const known = FIELDS[name];
    if (!known) fail(`${where}.${name}`, 'unknown field');
    const [field, read] = known;
    if (field in entry) fail(`${where}.${name}`, `repeats ${field} under another name`);
    entry[field] = read(value, `${where}.${name}`);
  }
  return entry as Partial<EntryMsg>;
}

/** Parses the text of a data file; `source` names it in messages. */
export function parseEntriesDocument(text: string, source: string): Partial<EntryMsg>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${source} is not valid JSON: ${messageOf(err)}`, FORMAT_HINT);
  }
  const entries = (doc as { entries?: unknown } | null)?.entries;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(entries)) fail(source, 'has no "entries" list');
  if (entries.length === 0) fail(source, '"entries" is empty');
  return entries.map((e, i) => entryFrom(e, `entries[${i}]`));
}

/** Reads FILE, or standard input for `-`. */
export function readEntriesFile(path: string): Partial<EntryMsg>[] {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path === '-' ? 'standard input' : path}: ${messageOf(err)}`);
  }
  return parseEntriesDocument(text, path === '-' ? 'standard input' : path);
}
