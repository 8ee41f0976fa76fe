/**
 * The CA journal: what one server instance needs to find its own CA again after a restart (SPIRE's
 * ca_journals), kept as JSON in CaJournalStore under the instance's ID:
 *
 *   { "version": 1,
 *     "x509CAs": [{ "slot": "A", "keyId": "x509-CA-A", "status": "active", "issuedAt": 1767225600,
 *                   "notAfter": 1767312000, "authorityId": "<SKID hex>", "certificate": "<DER base64>",
 *                   "upstreamChain": ["<DER base64>"…], "upstreamRoots": ["<DER base64>"…] }],
 *     "jwtKeys": [{ "slot": "A", "keyId": "JWT-Signer-A", "status": "active", "issuedAt": …, "notAfter": …,
 *                   "kid": "<32 chars>", "publicKey": "<SPKI DER base64>" }] }
 *
 * Times are unix seconds. The private keys are never here: `keyId` names them in the KeyManager
 * (`keyLocation`, optional, says where it was when the record was made, for `ca show`). Slots and
 * the prepared/active/old statuses are SPIRE's: rotation.ts prepares the next authority in the
 * other slot, activates it (the active one becomes old), and drops old records once they have
 * left the bundle. At most one record of each kind is active and at most one prepared.
 */
import { CaError, CaErrorCode } from './errors.js';

export type SlotId = 'A' | 'B';
export type AuthorityStatus = 'prepared' | 'active' | 'old';

/**
 * At most this many records of each kind are kept, newest last. SPIRE keeps 10, but prunes its
 * bundle of expired certificates whoever added them; sigil prunes only what journals list (a
 * server never removes an unexpired authority of another), so an old record dropped here would
 * leave its authority in the bundle for good. Pruning removes old records once expired, so in practice the journal holds
 * the active, the prepared and the few old ones of the last CA lifetime; the cap is only a bound.
 */
export const JOURNAL_CAP = 100;

export interface X509CaRecord {
  slot: SlotId;
  keyId: string;
  status: AuthorityStatus;
  issuedAt: number;
  notAfter: number;
  authorityId: string;
  certificate: string;
  upstreamChain: string[];
  /** Empty for a self-signed CA, whose certificate is its own root. */
  upstreamRoots: string[];
  keyLocation?: string;
}

export interface JwtKeyRecord {
  slot: SlotId;
  keyId: string;
  status: AuthorityStatus;
  issuedAt: number;
  notAfter: number;
  kid: string;
  publicKey: string;
  keyLocation?: string;
}

export interface Journal {
  version: 1;
  x509CAs: X509CaRecord[];
  jwtKeys: JwtKeyRecord[];
}

/** KeyManager ids per slot, SPIRE's names. */
export const x509KeyId = (slot: SlotId): string => `x509-CA-${slot}`;
export const jwtKeyId = (slot: SlotId): string => `JWT-Signer-${slot}`;

export function emptyJournal(): Journal {
  return { version: 1, x509CAs: [], jwtKeys: [] };
}

export function encodeJournal(journal: Journal): string {
  return JSON.stringify(journal);
}

type Statused = { status: AuthorityStatus };

/** The newest record with `status`. */
export function newestWith<T extends Statused>(records: readonly T[], status: AuthorityStatus): T | undefined {
  for (let i = records.length - 1; i >= 0; i--) if (records[i]!.status === status) return records[i];
  return undefined;
}

/** The newest record marked active. */
export function activeRecord<T extends Statused>(records: readonly T[]): T | undefined {
  return newestWith(records, 'active');
}

const demote = <T extends Statused>(records: readonly T[], from: AuthorityStatus): T[] =>
  records.map((r) => (r.status === from ? { ...r, status: 'old' as const } : r));

/**
 * Keeps the newest JOURNAL_CAP records. Old ones go first: dropping the active or prepared record
 * would lose a key the server still needs.
 */
function capped<T extends Statused>(records: T[]): T[] {
  const next = [...records];
  while (next.length > JOURNAL_CAP) {
    const oldest = next.findIndex((r) => r.status === 'old');
    next.splice(oldest === -1 ? 0 : oldest, 1);
  }
  return next;
}

/** Appends `record` as the active one: the previous active becomes old; the oldest beyond the cap go. */
export function withActive<T extends Statused>(records: readonly T[], record: T): T[] {
  return capped([...demote(records, 'active'), record]);
}

/** Appends `record` as the prepared one: a prepared one it replaces becomes old (it is in the bundle already). */
export function withPrepared<T extends Statused>(records: readonly T[], record: T): T[] {
  return capped([...demote(records, 'prepared'), record]);
}

/** The prepared record becomes active and the active one old; unchanged when nothing is prepared. */
export function promotePrepared<T extends Statused>(records: readonly T[]): T[] {
  if (newestWith(records, 'prepared') === undefined) return [...records];
  return demote(records, 'active').map((r) => (r.status === 'prepared' ? { ...r, status: 'active' as const } : r));
}

type Check = (v: unknown) => boolean;
const isString: Check = (v) => typeof v === 'string' && v.length > 0;
const isSeconds: Check = (v) => Number.isSafeInteger(v) && (v as number) >= 0;
const isSlot: Check = (v) => v === 'A' || v === 'B';
const isStatus: Check = (v) => v === 'prepared' || v === 'active' || v === 'old';
const isStrings: Check = (v) => Array.isArray(v) && v.every(isString);
const isOptionalString: Check = (v) => v === undefined || isString(v);

const COMMON: Readonly<Record<string, Check>> = {
  slot: isSlot, keyId: isString, status: isStatus, issuedAt: isSeconds, notAfter: isSeconds, keyLocation: isOptionalString,
};
const X509_FIELDS = { ...COMMON, authorityId: isString, certificate: isString, upstreamChain: isStrings, upstreamRoots: isStrings };
const JWT_FIELDS = { ...COMMON, kid: isString, publicKey: isString };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads a stored journal; anything unexpected is a CaError naming the instance and the field. */
export function parseJournal(serverInstanceId: string, data: string): Journal {
  const fail = (detail: string, cause?: unknown): CaError =>
    new CaError(
      CaErrorCode.corrupt,
      `the CA journal of server instance "${serverInstanceId}" is unreadable: ${detail}; ` +
        'restore the database, or delete the journal to have the server create a new CA',
      { cause },
    );
  let doc: unknown;
  try {
    doc = JSON.parse(data);
  } catch (err) {
    throw fail('not JSON', err);
  }
  if (!isObject(doc) || doc['version'] !== 1) throw fail('not a version 1 journal');
  const records = (name: string, fields: Readonly<Record<string, Check>>): unknown[] => {
    const list = doc[name];
    if (!Array.isArray(list)) throw fail(`"${name}" is not a list`);
    list.forEach((r: unknown, i) => {
      if (!isObject(r)) throw fail(`${name}[${i}] is not an object`);
      for (const [field, ok] of Object.entries(fields)) {
        if (!ok(r[field])) throw fail(`${name}[${i}].${field} is missing or invalid`);
      }
    });
    return list;
  };
  return {
    version: 1,
    x509CAs: records('x509CAs', X509_FIELDS) as X509CaRecord[],
    jwtKeys: records('jwtKeys', JWT_FIELDS) as JwtKeyRecord[],
  };
}
