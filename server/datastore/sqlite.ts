/**
 * The embedded default: SQLite through better-sqlite3, in WAL mode (readers never wait for the
 * writer), with foreign keys on and a busy timeout for writers from other processes.
 *
 * better-sqlite3 is synchronous. A writer that finds the database locked waits inside the call,
 * blocking the event loop; if the lock holder is another Datastore in this same process, its
 * transaction can then never finish. So every write first takes this process's turn on an async
 * lock shared by all instances open on the same file, and the busy timeout only ever waits for
 * other processes. Write transactions are BEGIN IMMEDIATE: they take the write lock at BEGIN, never
 * upgrade from a read lock halfway through (the upgrade cannot wait and would fail with BUSY).
 */
import { mkdirSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  SqliteAdapter,
  SqliteDriver,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type TransactionSettings,
} from 'kysely';
import { messageOf } from '../../spiffe/errors.js';
import type { Datastore } from './datastore.js';
import { q, unavailable } from './errors.js';
import { type DatastoreOptions, silentLogger } from './options.js';
import { mapError } from './sql/context.js';
import { SqlDatastore } from './sql/datastore.js';
import { type FailureKind, type SqlDialect, errorCode } from './sql/dialect.js';
import { migrate } from './sql/migrate.js';
import type { Database as Tables } from './sql/schema.js';

export const MEMORY = ':memory:';
const DEFAULT_BUSY_TIMEOUT_MS = 5000;

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection, settings?: TransactionSettings): Promise<void> {
    const begin = settings?.accessMode === 'read only' ? 'begin' : 'begin immediate';
    await connection.executeQuery(CompiledQuery.raw(begin));
  }
}

function kyselyDialect(database: Database.Database): Dialect {
  return {
    createDriver: () => new ImmediateSqliteDriver({ database }),
    createQueryCompiler: () => new SqliteQueryCompiler(),
    createAdapter: () => new SqliteAdapter(),
    createIntrospector: (db) => new SqliteIntrospector(db),
  };
}

/** One queue per database file, shared by every instance this process has open on it. */
class WriteTurns {
  #tail: Promise<void> = Promise.resolve();
  users = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn);
    // The queue only needs to know when the turn ends; the caller gets the outcome from `result`.
    this.#tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

const turnsByFile = new Map<string, WriteTurns>();

function classify(err: unknown): FailureKind {
  const code = errorCode(err) ?? '';
  if (code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'conflict';
  if (/^SQLITE_(CANTOPEN|IOERR|FULL|READONLY|NOTADB|CORRUPT|PERM|AUTH)/.test(code)) return 'unavailable';
  if (err instanceof TypeError && /database connection is not open/.test(err.message)) return 'unavailable';
  return 'other';
}

function sqlDialect(turns: WriteTurns): SqlDialect {
  return {
    kind: 'sqlite',
    rowLocks: false,
    maxParams: 30000,
    write: (db, body) => turns.run(() => db.transaction().execute(body)),
    read: (db, body) => db.transaction().setAccessMode('read only').execute(body),
    announce: async () => undefined,
    classify,
  };
}

/** Opens (creating it and its directory if needed) and migrates the database at `location`, or `:memory:`. */
export async function openSqlite(location: string, options: DatastoreOptions = {}): Promise<Datastore> {
  const logger = options.logger ?? silentLogger;
  const memory = location === MEMORY;
  let file = memory ? MEMORY : resolve(location);
  let raw: Database.Database;
  try {
    if (!memory) mkdirSync(dirname(file), { recursive: true });
    raw = new Database(file, { timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
    if (!memory) file = realpathSync(file);
    raw.pragma('journal_mode = WAL');
    raw.pragma('foreign_keys = ON');
    // Integers wider than 2^53 (bundle sequences) must not be rounded on the way out.
    raw.defaultSafeIntegers(true);
  } catch (err) {
    throw unavailable(`cannot open the SQLite database ${q(file)}: ${messageOf(err)}`, err);
  }

  const turns = memory ? new WriteTurns() : (turnsByFile.get(file) ?? new WriteTurns());
  if (!memory) turnsByFile.set(file, turns);
  turns.users++;
  const release = async (): Promise<void> => {
    if (--turns.users === 0 && turnsByFile.get(file) === turns) turnsByFile.delete(file);
  };

  const dialect = sqlDialect(turns);
  const db = new Kysely<Tables>({ dialect: kyselyDialect(raw) });
  try {
    await migrate(db, dialect, logger);
  } catch (err) {
    await db.destroy();
    await release();
    throw mapError(dialect, `opening ${q(file)}`, err);
  }
  logger.info(`datastore: opened SQLite database ${q(file)}`);
  return new SqlDatastore({ db, dialect, options, onClose: release });
}
