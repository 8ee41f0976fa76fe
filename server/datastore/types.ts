/**
 * The records the datastore keeps. IDs are SPIFFE ID strings already validated by spiffe/ at the
 * API edge; the store checks only what a database can (uniqueness, existence, transactions).
 * Times are unix seconds (integers), as SPIRE stores them, so rows compare the same on SQLite
 * and PostgreSQL.
 */

export interface Selector {
  type: string;
  value: string;
}

export interface RegistrationEntry {
  /** UUIDv4, or an operator-chosen ID (≤255 chars of [A-Za-z0-9._-]). */
  id: string;
  spiffeId: string;
  /** An agent ID, another entry's SPIFFE ID, or the server ID for node-alias entries. */
  parentId: string;
  /** Sorted by type then value, no duplicates, never empty. */
  selectors: Selector[];
  /** Seconds; 0 = the server's default. */
  x509SvidTtl: number;
  jwtSvidTtl: number;
  /** Sorted as given, no duplicates; the first one also becomes the certificate's CN. */
  dnsNames: string[];
  /** Trust domain names (not IDs), sorted. */
  federatesWith: string[];
  admin: boolean;
  downstream: boolean;
  /** Unix seconds after which the entry is pruned; null = never. */
  expiresAt: number | null;
  hint: string;
  /** Starts at 0 and goes up by one on every update; agents re-mint when it changes. */
  revision: number;
  createdAt: number;
}

/** What a caller supplies to create an entry; the store assigns id (if absent), revision, createdAt. */
export type NewEntry = Omit<RegistrationEntry, 'id' | 'revision' | 'createdAt'> & { id?: string };

/** Fields an update may change; absent fields keep their value. */
export type EntryPatch = Partial<Omit<RegistrationEntry, 'id' | 'revision' | 'createdAt'>>;

export type SelectorMatch = 'exact' | 'subset' | 'superset' | 'any';

export interface EntryFilter {
  spiffeId?: string;
  parentId?: string;
  selectors?: { match: SelectorMatch; selectors: Selector[] };
  federatesWith?: string;
  hint?: string;
  downstream?: boolean;
}

export interface Page {
  /** 0 or absent = everything. */
  pageSize?: number;
  /** Opaque token from the previous page. */
  pageToken?: string;
}

export interface PageResult<T> {
  items: T[];
  /** Absent on the last page. */
  nextPageToken?: string;
}

export interface AttestedAgent {
  spiffeId: string;
  /** The node attestor that attested it, e.g. "join_token", "tpm". */
  attestationType: string;
  /** Hex serial of the SVID the agent currently uses. */
  serialNumber: string;
  expiresAt: number;
  /** Serial of an SVID issued by Renew and not used yet; promoted to current on first use. */
  newSerialNumber: string | null;
  newExpiresAt: number | null;
  banned: boolean;
  canReattest: boolean;
  /** Node selectors from attestation, sorted, no duplicates. */
  selectors: Selector[];
  agentVersion: string;
  createdAt: number;
  updatedAt: number;
}

export interface JoinToken {
  token: string;
  expiresAt: number;
  /** When set, attesting with the token also creates an alias entry with this SPIFFE ID. */
  aliasSpiffeId: string | null;
}

export interface StoredBundle {
  /** Trust domain name. */
  trustDomain: string;
  /** The SPIFFE bundle document (JSON, as spiffe/bundle marshals it). */
  document: string;
  /** spiffe_sequence of the document, exact (64-bit). */
  sequence: bigint;
}

/** One CA journal per server instance (several servers share a database, each with its own CA). */
export interface CaJournal {
  serverInstanceId: string;
  /** JSON owned by the CA manager. */
  data: string;
  updatedAt: number;
}

export type ChangeKind = 'entry' | 'agent' | 'bundle';

/**
 * A row of the change-event log, written in the same transaction as the change it records.
 * Ids increase monotonically; a reader resumes from the last id it saw.
 */
export interface ChangeEvent {
  id: number;
  kind: ChangeKind;
  /** Entry id, agent SPIFFE ID, or trust domain name. */
  key: string;
  op: 'upsert' | 'delete';
  at: number;
}
