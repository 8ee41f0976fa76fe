/**
 * Brings a database to the schema this code was written for, at open, in one transaction: either
 * every pending migration applies and is recorded in `schema_migrations`, or none does. Several
 * servers opening one PostgreSQL database at once take turns on an advisory lock; on SQLite the
 * write transaction's lock does the same.
 */
import { sql, type Kysely } from 'kysely';
import { DatastoreError, DatastoreErrorCode } from '../errors.js';
import type { DatastoreLogger } from '../options.js';
import type { SqlDialect } from './dialect.js';
import type { MigrationContext } from './migrations/migration.js';
import { MIGRATIONS } from './migrations/index.js';
import type { Database } from './schema.js';
import { nowSeconds, toNumber } from './values.js';

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/** Arbitrary first key of sigil's advisory locks, so they do not collide with other applications'. */
export const ADVISORY_LOCK_CLASS = 0x5157;

export async function migrate(db: Kysely<Database>, dialect: SqlDialect, logger: DatastoreLogger): Promise<number> {
  MIGRATIONS.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${m.name} has version ${m.version}, expected ${i + 1}`);
  });
  // The common case, a database already current, needs no write lock: a server opening a
  // database another process is busy writing to should not wait for it.
  const seen = await installedVersion(db, dialect);
  if (seen > SCHEMA_VERSION) throw tooNew(seen);
  if (seen === SCHEMA_VERSION) return SCHEMA_VERSION;
  return dialect.write(db, async (trx) => {
    if (dialect.kind === 'postgres') {
      await sql`select pg_advisory_xact_lock(${sql.lit(ADVISORY_LOCK_CLASS)}, hashtext(current_schema()))`.execute(trx);
    }
    await trx.schema
      .createTable('schema_migrations')
      .ifNotExists()
      .addColumn('version', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'bigint', (c) => c.notNull())
      .execute();
    // Read again under the lock: another server may have migrated since the first look.
    const current = await currentVersion(trx);
    if (current > SCHEMA_VERSION) throw tooNew(current);
    const context: MigrationContext = {
      kind: dialect.kind,
      schema: trx.schema,
      types: { text: dialect.kind === 'postgres' ? sql`text collate "C"` : 'text' },
      run: async (statement) => {
        await statement.execute(trx);
      },
    };
    for (const migration of MIGRATIONS.slice(current)) {
      await migration.up(context);
      await trx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: nowSeconds() })
        .execute();
      logger.info(`datastore: applied migration ${migration.version} (${migration.name})`);
    }
    return SCHEMA_VERSION;
  });
}

function tooNew(version: number): DatastoreError {
  return new DatastoreError(
    DatastoreErrorCode.schemaTooNew,
    `the database schema is at version ${version}, newer than this sigil supports (${SCHEMA_VERSION}): ` +
      'it was migrated by a newer sigil; run that version, or point this one at another database',
  );
}

async function installedVersion(db: Kysely<Database>, dialect: SqlDialect): Promise<number> {
  const table =
    dialect.kind === 'postgres'
      ? sql<{ found: string | null }>`select to_regclass('schema_migrations')::text as found`
      : sql<{ found: string | null }>`select max(name) as found from sqlite_master where type = 'table' and name = 'schema_migrations'`;
  const { rows } = await table.execute(db);
  return rows[0]?.found ? currentVersion(db) : 0;
}

async function currentVersion(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('schema_migrations')
    .select((eb) => eb.fn.max('version').as('version'))
    .executeTakeFirst();
  return row?.version == null ? 0 : toNumber(row.version);
}
