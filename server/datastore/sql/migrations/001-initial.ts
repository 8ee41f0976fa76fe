/**
 * The first schema, modelled on SPIRE's (spire-behaviour.md §5.2): entries with their selectors,
 * DNS names and federated trust domains in child tables; attested agents with node selectors;
 * join tokens; bundles; one CA journal per server instance; and the change-event log.
 */
import type { Migration, MigrationContext } from './migration.js';

async function up(m: MigrationContext): Promise<void> {
  const { schema: s } = m;
  const text = m.types.text;

  await s
    .createTable('registration_entries')
    .addColumn('id', text, (c) => c.primaryKey())
    .addColumn('spiffe_id', text, (c) => c.notNull())
    .addColumn('parent_id', text, (c) => c.notNull())
    .addColumn('selectors_hash', text, (c) => c.notNull())
    .addColumn('unique_key', text, (c) => c.notNull())
    .addColumn('x509_svid_ttl', 'integer', (c) => c.notNull())
    .addColumn('jwt_svid_ttl', 'integer', (c) => c.notNull())
    .addColumn('admin', 'integer', (c) => c.notNull())
    .addColumn('downstream', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('hint', text, (c) => c.notNull())
    .addColumn('revision', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // The database's own guard against duplicates: two servers inserting the same entry at once
  // cannot both commit, whatever their in-memory checks saw.
  await s.createIndex('registration_entries_unique_key').on('registration_entries').column('unique_key').unique().execute();
  await s.createIndex('registration_entries_spiffe_id').on('registration_entries').column('spiffe_id').execute();
  await s.createIndex('registration_entries_parent_id').on('registration_entries').column('parent_id').execute();
  await s.createIndex('registration_entries_selectors_hash').on('registration_entries').column('selectors_hash').execute();
  await s.createIndex('registration_entries_expires_at').on('registration_entries').column('expires_at').execute();
  await s.createIndex('registration_entries_hint').on('registration_entries').column('hint').execute();

  await s
    .createTable('entry_selectors')
    .addColumn('entry_id', text, (c) => c.notNull().references('registration_entries.id').onDelete('cascade'))
    .addColumn('type', text, (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('entry_selectors_pk', ['entry_id', 'type', 'value'])
    .execute();
  await s.createIndex('entry_selectors_type_value').on('entry_selectors').columns(['type', 'value']).execute();

  await s
    .createTable('entry_dns_names')
    .addColumn('entry_id', text, (c) => c.notNull().references('registration_entries.id').onDelete('cascade'))
    .addColumn('position', 'integer', (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('entry_dns_names_pk', ['entry_id', 'position'])
    .addUniqueConstraint('entry_dns_names_value', ['entry_id', 'value'])
    .execute();

  await s
    .createTable('entry_federates_with')
    .addColumn('entry_id', text, (c) => c.notNull().references('registration_entries.id').onDelete('cascade'))
    .addColumn('trust_domain', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('entry_federates_with_pk', ['entry_id', 'trust_domain'])
    .execute();
  await s.createIndex('entry_federates_with_trust_domain').on('entry_federates_with').column('trust_domain').execute();

  await s
    .createTable('attested_agents')
    .addColumn('spiffe_id', text, (c) => c.primaryKey())
    .addColumn('attestation_type', text, (c) => c.notNull())
    .addColumn('serial_number', text, (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('new_serial_number', text)
    .addColumn('new_expires_at', 'bigint')
    .addColumn('banned', 'integer', (c) => c.notNull())
    .addColumn('can_reattest', 'integer', (c) => c.notNull())
    .addColumn('agent_version', text, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createIndex('attested_agents_expires_at').on('attested_agents').column('expires_at').execute();

  await s
    .createTable('agent_selectors')
    .addColumn('spiffe_id', text, (c) => c.notNull().references('attested_agents.spiffe_id').onDelete('cascade'))
    .addColumn('type', text, (c) => c.notNull())
    .addColumn('value', text, (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_selectors_pk', ['spiffe_id', 'type', 'value'])
    .execute();
  await s.createIndex('agent_selectors_type_value').on('agent_selectors').columns(['type', 'value']).execute();

  await s
    .createTable('join_tokens')
    .addColumn('token', text, (c) => c.primaryKey())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('alias_spiffe_id', text)
    .execute();
  await s.createIndex('join_tokens_expires_at').on('join_tokens').column('expires_at').execute();

  await s
    .createTable('bundles')
    .addColumn('trust_domain', text, (c) => c.primaryKey())
    .addColumn('document', text, (c) => c.notNull())
    .addColumn('sequence', 'bigint', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  await s
    .createTable('ca_journals')
    .addColumn('server_instance_id', text, (c) => c.primaryKey())
    .addColumn('data', text, (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();

  // Ids must never be reused, even after pruning: readers resume from the last id they saw.
  // SQLite's AUTOINCREMENT and PostgreSQL's identity sequence both guarantee that.
  await s
    .createTable('change_events')
    .addColumn('id', m.kind === 'postgres' ? 'bigint' : 'integer', (c) =>
      m.kind === 'postgres' ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('kind', text, (c) => c.notNull())
    .addColumn('key', text, (c) => c.notNull())
    .addColumn('op', text, (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await s.createIndex('change_events_at').on('change_events').column('at').execute();
}

export const initial: Migration = { version: 1, name: 'initial', up };
