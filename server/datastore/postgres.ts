/**
 * PostgreSQL through pg, for several servers sharing one database. Writers run concurrently at
 * READ COMMITTED and lock the rows they read-modify-write (SELECT … FOR UPDATE); int8 columns are
 * parsed as BigInt so no 64-bit value is rounded; every transaction that appends change events
 * also NOTIFYs a channel named after the schema, which PostgreSQL delivers to the other servers'
 * LISTEN connections only when the transaction commits.
 */
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { SigilError, messageOf } from '../../spiffe/errors.js';
import type { Datastore } from './datastore.js';
import { internal, invalid, q, unavailable } from './errors.js';
import { type DatastoreOptions, silentLogger } from './options.js';
import { PgListener, quoteIdent } from './postgres-listener.js';
import { SqlDatastore } from './sql/datastore.js';
import { type FailureKind, type SqlDialect, errorCode, isNetworkError } from './sql/dialect.js';
import { ADVISORY_LOCK_CLASS, migrate } from './sql/migrate.js';
import type { Database } from './sql/schema.js';

const INT8_OID = 20;
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

function classify(err: unknown): FailureKind {
  const code = errorCode(err) ?? '';
  if (code === '23505') return 'unique';
  if (code === '40001' || code === '40P01' || code === '55P03') return 'conflict';
  if (code.startsWith('08') || code.startsWith('57P') || code === '53300' || code === '3D000' || code.startsWith('28')) return 'unavailable';
  if (code.startsWith('22')) return 'invalid'; // data exceptions: out of range, NUL in text, bad encoding
  if (isNetworkError(err)) return 'unavailable';
  if (err instanceof Error && /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end/i.test(err.message)) {
    return 'unavailable';
  }
  return 'other';
}

function sqlDialect(channel: string): SqlDialect {
  return {
    kind: 'postgres',
    rowLocks: true,
    maxParams: 30000,
    write: (db, body) => db.transaction().execute(body),
    read: (db, body) => db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(body),
    announce: async (trx) => {
      await sql`select pg_notify(${channel}, '')`.execute(trx);
    },
    classify,
  };
}

/** Channel names are identifiers (at most 63 bytes); a long schema name is hashed to fit. */
function channelFor(schema: string): string {
  const name = `sigil_changes_${schema}`;
  return Buffer.byteLength(name) <= 63 ? name : `sigil_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 40)}`;
}

/** The URL without `?schema=`, the schema to use, and where it points (no credentials) for messages. */
function parseUrl(url: string, schemaOption: string | undefined): { connectionString: string; schema?: string; where: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw invalid('the PostgreSQL URL is not a valid URL (expected postgres://user@host:port/database)');
  }
  const fromUrl = u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  const schema = schemaOption ?? fromUrl;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw invalid(`schema name ${q(schema)} must be letters, digits and underscores (at most 63), not starting with a digit`);
  }
  const where = `${u.host}${u.pathname}`;
  return { connectionString: u.toString(), where, ...(schema !== undefined ? { schema } : {}) };
}

export async function openPostgres(url: string, options: DatastoreOptions = {}): Promise<Datastore> {
  const logger = options.logger ?? silentLogger;
  const { connectionString, schema, where } = parseUrl(url, options.schema);
  const base: pg.ClientConfig = { connectionString, connectionTimeoutMillis: 10_000, application_name: 'sigil' };
  const pool = new pg.Pool({ ...base, types, max: options.maxConnections ?? 10 });
  // pg emits 'error' on a client whose connection dies; unheard, Node would end the process.
  pool.on('error', (err) => logger.warn(`datastore: an idle PostgreSQL connection failed: ${messageOf(err)}`));
  pool.on('connect', (client) => {
    client.on('error', (err) => logger.warn(`datastore: a PostgreSQL connection failed: ${messageOf(err)}`));
  });

  let current: string;
  try {
    if (schema !== undefined) {
      await createSchema(pool, schema);
      current = schema;
    } else {
      const res = await pool.query<{ schema: string | null }>('select current_schema() as schema');
      if (!res.rows[0]?.schema) throw invalid(`the search_path at ${where} names no existing schema: pass ?schema=NAME`);
      current = res.rows[0].schema;
    }
  } catch (err) {
    await pool.end();
    throw openError(err, where);
  }

  const dialect = sqlDialect(channelFor(current));
  const db = new Kysely<Database>({
    dialect: new PostgresDialect({
      pool,
      // Every pooled connection, whenever the pool opens one, works in the datastore's schema.
      onCreateConnection: async (conn) => {
        await conn.executeQuery(CompiledQuery.raw(`set search_path to ${quoteIdent(current)}`));
      },
    }),
  });
  try {
    await migrate(db, dialect, logger);
  } catch (err) {
    await db.destroy();
    throw openError(err, where);
  }
  const push = options.events?.listen === false ? undefined : new PgListener(base, channelFor(current), logger);
  logger.info(`datastore: opened PostgreSQL at ${where}, schema ${q(current)}`);
  return new SqlDatastore({ db, dialect, options, ...(push ? { push } : {}) });
}

/** Two servers may create the schema at once; IF NOT EXISTS alone can still collide in the catalog. */
async function createSchema(pool: pg.Pool, schema: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query('select pg_advisory_xact_lock($1, hashtext($2))', [ADVISORY_LOCK_CLASS, schema]);
    await client.query(`create schema if not exists ${quoteIdent(schema)}`);
    await client.query('commit');
  } catch (err) {
    await client.query('rollback').catch(() => undefined); // the connection may be gone; err says why
    throw err;
  } finally {
    client.release();
  }
}

function openError(err: unknown, where: string): SigilError {
  if (err instanceof SigilError) return err;
  if (classify(err) === 'unavailable') return unavailable(`cannot connect to PostgreSQL at ${where}: ${messageOf(err)}`, err);
  return internal(`opening PostgreSQL at ${where}`, err);
}
