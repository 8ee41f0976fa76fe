/**
 * What differs between the engines, and nothing else: the SQL in entries.ts, agents.ts and the
 * rest is written once against Kysely and asks the dialect only how to open a transaction, whether
 * rows must be locked, how to wake other processes, and what a driver error means.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

export type EngineKind = 'sqlite' | 'postgres';

/** The driver errors the datastore treats differently; anything else is internal. */
export type FailureKind = 'unique' | 'conflict' | 'unavailable' | 'invalid' | 'other';

export type TxBody<T> = (trx: Transaction<Database>) => Promise<T>;

export interface SqlDialect {
  readonly kind: EngineKind;
  /**
   * Whether read-modify-write code must `SELECT … FOR UPDATE`. PostgreSQL runs writers
   * concurrently at READ COMMITTED; SQLite's write transactions are BEGIN IMMEDIATE and hold the
   * database's one write lock from the start, so there is nothing finer to lock (and no syntax).
   */
  readonly rowLocks: boolean;
  /** The most bind parameters one statement may carry (SQLite 32766, PostgreSQL 65535, with room). */
  readonly maxParams: number;
  /** A transaction that will write. */
  write<T>(db: Kysely<Database>, body: TxBody<T>): Promise<T>;
  /** A read-only transaction that sees one snapshot across all its statements. */
  read<T>(db: Kysely<Database>, body: TxBody<T>): Promise<T>;
  /**
   * Called in every write transaction that inserted change events, after them: PostgreSQL
   * queues a NOTIFY that the server delivers to listeners only if the transaction commits.
   */
  announce(trx: Transaction<Database>): Promise<void>;
  classify(err: unknown): FailureKind;
}

/** Node's socket errors: the database is not there, whatever the engine. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'EAI_AGAIN',
]);

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

export const isNetworkError = (err: unknown): boolean => NETWORK_CODES.has(errorCode(err) ?? '');
