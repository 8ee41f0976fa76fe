/**
 * The one way the stores touch the database. `write` runs a body in a transaction, appends the
 * change events the body recorded to the log in that same transaction, and tells listeners only
 * after COMMIT; `read` and `query` map driver errors the same way. A store therefore cannot write
 * a change without its event, nor announce one that did not commit.
 */
import type { Kysely, Transaction } from 'kysely';
import { SigilError, messageOf } from '../../../spiffe/errors.js';
import { alreadyExists, conflict, internal, invalid, unavailable } from '../errors.js';
import type { DatastoreLogger, DatastoreOptions } from '../options.js';
import type { ChangeEvent, ChangeKind } from '../types.js';
import type { SqlDialect } from './dialect.js';
import type { Database } from './schema.js';
import { chunk, nowSeconds } from './values.js';

export interface SqlContext {
  readonly db: Kysely<Database>;
  readonly dialect: SqlDialect;
  readonly logger: DatastoreLogger;
  readonly hooks: DatastoreOptions['hooks'];
  /** Wakes this process's onChange listeners; called after a commit that wrote events. */
  readonly changed: () => void;
}

type PendingEvent = Pick<ChangeEvent, 'kind' | 'key' | 'op'>;

/** A write in progress: the transaction, and the change events to append when the body is done. */
export class WriteTx {
  readonly events: PendingEvent[] = [];
  constructor(readonly trx: Transaction<Database>) {}

  event(kind: ChangeKind, key: string, op: ChangeEvent['op']): void {
    this.events.push({ kind, key, op });
  }
}

/**
 * Carries an error thrown by caller-supplied code (a bundle update function) through the
 * transaction untouched: it is the caller's error, not a database failure to be re-labelled.
 */
export class CallerError {
  constructor(readonly error: unknown) {}
}

const MAX_ATTEMPTS = 3;

export async function write<T>(ctx: SqlContext, operation: string, body: (tx: WriteTx) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let wroteEvents = false;
    try {
      const result = await ctx.dialect.write(ctx.db, async (trx) => {
        const tx = new WriteTx(trx);
        const value = await body(tx);
        if (tx.events.length > 0) {
          await appendEvents(ctx, trx, tx.events);
          await ctx.dialect.announce(trx);
        }
        await ctx.hooks?.beforeCommit?.(operation);
        wroteEvents = tx.events.length > 0;
        return value;
      });
      if (wroteEvents) ctx.changed();
      return result;
    } catch (err) {
      if (err instanceof CallerError) throw err.error;
      // Deadlocks and serialization failures say nothing about the data: the same body, run
      // again on fresh reads, usually succeeds. Every body here re-reads what it depends on.
      if (attempt < MAX_ATTEMPTS && !(err instanceof SigilError) && ctx.dialect.classify(err) === 'conflict') {
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20 * attempt));
        continue;
      }
      throw mapError(ctx.dialect, operation, err);
    }
  }
}

export async function read<T>(ctx: SqlContext, operation: string, body: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  try {
    return await ctx.dialect.read(ctx.db, body);
  } catch (err) {
    throw mapError(ctx.dialect, operation, err);
  }
}

/** A single statement, atomic on its own. */
export async function query<T>(ctx: SqlContext, operation: string, body: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  try {
    return await body(ctx.db);
  } catch (err) {
    throw mapError(ctx.dialect, operation, err);
  }
}

export function mapError(dialect: SqlDialect, operation: string, err: unknown): SigilError {
  if (err instanceof SigilError) return err;
  switch (dialect.classify(err)) {
    case 'unique':
      return alreadyExists(`${operation}: ${messageOf(err)}`, err);
    case 'conflict':
      return conflict(`${operation}: concurrent writers conflicted, retry: ${messageOf(err)}`, err);
    case 'invalid':
      return invalid(`${operation}: the database refused a value: ${messageOf(err)}`, err);
    case 'unavailable':
      return unavailable(`${operation}: the ${dialect.kind} database is unavailable: ${messageOf(err)}`, err);
    case 'other':
      return internal(operation, err);
  }
}

async function appendEvents(ctx: SqlContext, trx: Transaction<Database>, events: PendingEvent[]): Promise<void> {
  const at = nowSeconds();
  for (const part of chunk(events, 4, ctx.dialect.maxParams)) {
    await trx
      .insertInto('change_events')
      .values(part.map((e) => ({ kind: e.kind, key: e.key, op: e.op, at })))
      .execute();
  }
}
