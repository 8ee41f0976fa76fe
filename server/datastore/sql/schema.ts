/**
 * The tables as Kysely sees them, after the latest migration. Integers read back as `number` or
 * `bigint` depending on the engine and column width (SQLite runs in safe-integer mode, pg parses
 * int8 as BigInt), so every integer column is typed `Int` and converted in values.ts; flags are
 * 0/1 integers because SQLite has no boolean and the SQL should be the same on both engines.
 */
import type { Generated } from 'kysely';

export type Int = number | bigint;

export interface SchemaMigrationRow {
  version: Int;
  name: string;
  applied_at: Int;
}

export interface EntryRow {
  id: string;
  spiffe_id: string;
  parent_id: string;
  /** SHA-256 (hex) of the canonical selector set: exact selector match is one index lookup. */
  selectors_hash: string;
  /** SHA-256 (hex) of spiffe_id, parent_id and selectors_hash; unique, so racing servers cannot both insert a duplicate. */
  unique_key: string;
  x509_svid_ttl: Int;
  jwt_svid_ttl: Int;
  admin: Int;
  downstream: Int;
  expires_at: Int | null;
  hint: string;
  revision: Int;
  created_at: Int;
  updated_at: Int;
}

export interface EntrySelectorRow {
  entry_id: string;
  type: string;
  value: string;
}

export interface EntryDnsNameRow {
  entry_id: string;
  /** DNS names keep the order they were given in: the first becomes the certificate's CN. */
  position: Int;
  value: string;
}

export interface EntryFederatesWithRow {
  entry_id: string;
  trust_domain: string;
}

export interface AgentRow {
  spiffe_id: string;
  attestation_type: string;
  serial_number: string;
  expires_at: Int;
  new_serial_number: string | null;
  new_expires_at: Int | null;
  banned: Int;
  can_reattest: Int;
  agent_version: string;
  created_at: Int;
  updated_at: Int;
}

export interface AgentSelectorRow {
  spiffe_id: string;
  type: string;
  value: string;
}

export interface JoinTokenRow {
  token: string;
  expires_at: Int;
  alias_spiffe_id: string | null;
}

export interface BundleRow {
  trust_domain: string;
  document: string;
  /** The uint64 spiffe_sequence stored as the int64 with the same bits (values.ts). */
  sequence: Int;
  created_at: Int;
  updated_at: Int;
}

export interface CaJournalRow {
  server_instance_id: string;
  data: string;
  updated_at: Int;
}

export interface ChangeEventRow {
  id: Generated<Int>;
  kind: string;
  key: string;
  op: string;
  at: Int;
}

export interface Database {
  schema_migrations: SchemaMigrationRow;
  registration_entries: EntryRow;
  entry_selectors: EntrySelectorRow;
  entry_dns_names: EntryDnsNameRow;
  entry_federates_with: EntryFederatesWithRow;
  attested_agents: AgentRow;
  agent_selectors: AgentSelectorRow;
  join_tokens: JoinTokenRow;
  bundles: BundleRow;
  ca_journals: CaJournalRow;
  change_events: ChangeEventRow;
}
