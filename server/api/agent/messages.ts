/**
 * The sigil.agent.v1 messages as proto/load.ts decodes them (snake_case names, 64-bit integers as
 * decimal strings, bytes as Buffers, scalars defaulted, an unset oneof member absent) and as the
 * handlers write them (64-bit integers may be numbers). Kept by hand beside the proto; the
 * integration tests exercise every field through the real loader.
 */

export interface SelectorMessage {
  type: string;
  value: string;
}

export interface EntryMessage {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: SelectorMessage[];
  x509_svid_ttl: number;
  jwt_svid_ttl: number;
  dns_names: string[];
  federates_with: string[];
  hint: string;
  admin: boolean;
  downstream: boolean;
  revision: number | string;
  created_at: number | string;
}

export interface AttestParams {
  attestor_type: string;
  payload: Buffer;
  csr: Buffer;
}

export interface AttestRequest {
  step?: 'params' | 'challenge_response';
  params?: AttestParams | null;
  challenge_response?: Buffer;
}

export interface AttestResult {
  svid_chain: Buffer[];
  bundle: Buffer;
  agent_id: string;
  reattestable: boolean;
  expires_at: number | string;
}

export type AttestResponse = { challenge: Buffer } | { result: AttestResult };

export interface RenewRequest {
  csr: Buffer;
}

export interface RenewResponse {
  svid_chain: Buffer[];
  expires_at: number | string;
}

export interface SyncEntriesRequest {
  resume_after_event_id: string;
}

export type SyncEntriesResponse =
  | { full: { entries: EntryMessage[]; event_id: number | string; more: boolean } }
  | { update: { upserted: EntryMessage[]; removed_ids: string[]; event_id: number | string } };

export interface X509SvidRequestMessage {
  entry_id: string;
  csr: Buffer;
}

export interface MintX509SvidsRequest {
  requests: X509SvidRequestMessage[];
}

export interface StatusMessage {
  code: number;
  message: string;
}

export interface X509SvidResultMessage {
  entry_id: string;
  svid_chain: Buffer[];
  expires_at: number | string;
  error: StatusMessage | null;
}

export interface MintX509SvidsResponse {
  results: X509SvidResultMessage[];
}

export interface MintJwtSvidRequest {
  entry_id: string;
  audience: string[];
}

export interface MintJwtSvidResponse {
  token: string;
  spiffe_id: string;
  expires_at: number | string;
}

export type WatchBundleRequest = Record<string, never>;

export interface WatchBundleResponse {
  bundle: Buffer;
  sequence: string;
}
