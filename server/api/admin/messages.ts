/**
 * The admin.proto messages as @grpc/proto-loader hands them over (proto/load.ts options: snake_case
 * names, 64-bit integers as decimal strings, defaults filled in, absent sub-messages null, unset
 * proto3 `optional` fields missing). Requests come from any client on the socket, so handlers read
 * them as Partial and check what they use.
 */
export interface SelectorMsg {
  type: string;
  value: string;
}

export interface EntryMsg {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: SelectorMsg[];
  x509_svid_ttl: number;
  federates_with: string[];
  admin: boolean;
  downstream: boolean;
  /** int64: a string when decoded, a number when we encode. */
  expires_at: string | number;
  dns_names: string[];
  revision_number: string | number;
  jwt_svid_ttl: number;
  hint: string;
  created_at: string | number;
}

export type EntryMaskMsg = Partial<Record<
  'spiffe_id' | 'parent_id' | 'selectors' | 'x509_svid_ttl' | 'federates_with' | 'admin' | 'downstream' | 'expires_at' |
  'dns_names' | 'jwt_svid_ttl' | 'hint',
  boolean
>>;

export type SelectorMatchMsg = 'MATCH_SUPERSET' | 'MATCH_EXACT' | 'MATCH_SUBSET' | 'MATCH_ANY';

export interface EntryFilterMsg {
  by_spiffe_id?: string;
  by_parent_id?: string;
  by_selectors?: { selectors?: SelectorMsg[]; match?: SelectorMatchMsg | number } | null;
  by_federates_with?: string;
  by_hint?: string;
  by_downstream?: boolean;
}

export interface AgentMsg {
  spiffe_id: string;
  attestation_type: string;
  x509svid_serial_number: string;
  x509svid_expires_at: number;
  selectors: SelectorMsg[];
  banned: boolean;
  can_reattest: boolean;
  agent_version: string;
  created_at: number;
  updated_at: number;
}

export interface JoinTokenMsg {
  value: string;
  expires_at: number;
  ttl: number;
  agent_id: string;
  alias_entry: EntryMsg | null;
}

export interface BundleMsg {
  trust_domain: string;
  x509_authorities: Buffer[];
  jwt_authorities: { key_id: string; public_key: Buffer }[];
  sequence_number: string;
  refresh_hint: number;
  spiffe_document: string;
}

export interface AuthorityMsg {
  kind: 'x509' | 'jwt';
  status: 'active' | 'prepared' | 'old';
  slot: string;
  id: string;
  key_location: string;
  /** int64 fields arrive as decimal strings (proto/load.ts: longs as String). */
  issued_at: string | number;
  not_after: string | number;
  upstream: boolean;
  prune_at: string | number;
}

export interface RotationScheduleMsg {
  prepare_at: string | number;
  activate_at: string | number;
}

export interface ListAuthoritiesMsg {
  authorities: AuthorityMsg[];
  x509: RotationScheduleMsg;
  jwt: RotationScheduleMsg;
  key_manager: string;
}

export interface RotateRequestMsg {
  prepare: boolean;
  activate: boolean;
  kinds: string[];
}

export interface CheckResponseMsg {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail: string }>;
}
