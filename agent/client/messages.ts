/**
 * The sigil.agent.v1 messages as proto/load.ts decodes them on the agent's side (snake_case names,
 * 64-bit integers as decimal strings, bytes as Buffers, defaults filled in, an unset oneof member
 * absent). Kept by hand beside the proto, as the server keeps its own copy: agent/ cannot import
 * server/. The integration tests run every field through the real loader.
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
  revision: string;
  created_at: string;
}

export interface AttestResultMessage {
  svid_chain: Buffer[];
  bundle: Buffer;
  agent_id: string;
  reattestable: boolean;
  expires_at: string;
}

export interface AttestResponseMessage {
  challenge?: Buffer;
  result?: AttestResultMessage;
}

export type AttestRequestMessage =
  | { params: { attestor_type: string; payload: Buffer; csr: Buffer } }
  | { challenge_response: Buffer };

export interface RenewResponseMessage {
  svid_chain: Buffer[];
  expires_at: string;
}

export interface FullSetMessage {
  entries: EntryMessage[];
  event_id: string;
  more: boolean;
}

export interface UpdateMessage {
  upserted: EntryMessage[];
  removed_ids: string[];
  event_id: string;
}

export interface SyncEntriesResponseMessage {
  kind?: 'full' | 'update';
  full?: FullSetMessage;
  update?: UpdateMessage;
}

export interface X509SvidResultMessage {
  entry_id: string;
  svid_chain: Buffer[];
  expires_at: string;
  error: { code: number; message: string } | null;
}

export interface MintX509SvidsResponseMessage {
  results: X509SvidResultMessage[];
}

export interface MintJwtSvidResponseMessage {
  token: string;
  spiffe_id: string;
  expires_at: string;
}

export interface WatchBundleResponseMessage {
  bundle: Buffer;
  sequence: string;
}
