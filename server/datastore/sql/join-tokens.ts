/**
 * Join tokens are single-use: consume is one DELETE … RETURNING, so of any number of concurrent
 * attestations with one token (on any number of servers) exactly one gets it back.
 * Every write, even of one row, goes through write(): on SQLite that takes the process's turn at
 * the database's write lock (sqlite.ts explains why a plain statement could stall the process).
 */
import type { JoinTokenStore } from '../datastore.js';
import { DatastoreError, DatastoreErrorCode, alreadyExists } from '../errors.js';
import type { JoinToken } from '../types.js';
import { type SqlContext, write } from './context.js';
import type { JoinTokenRow } from './schema.js';
import { checkInt, toNumber } from './values.js';

const toRecord = (r: JoinTokenRow): JoinToken => ({
  token: r.token,
  expiresAt: toNumber(r.expires_at),
  aliasSpiffeId: r.alias_spiffe_id,
});

export class SqlJoinTokenStore implements JoinTokenStore {
  constructor(private readonly ctx: SqlContext) {}

  async create(token: JoinToken): Promise<JoinToken> {
    checkInt('join token expiresAt', token.expiresAt);
    try {
      const row = await write(this.ctx, 'joinTokens.create', (tx) =>
        tx.trx
          .insertInto('join_tokens')
          .values({ token: token.token, expires_at: token.expiresAt, alias_spiffe_id: token.aliasSpiffeId })
          .returningAll()
          .executeTakeFirstOrThrow(),
      );
      return toRecord(row);
    } catch (err) {
      // The token is a secret: the message must not repeat it into logs.
      if (err instanceof DatastoreError && err.code === DatastoreErrorCode.alreadyExists) {
        throw alreadyExists('a join token with that value already exists', err);
      }
      throw err;
    }
  }

  async consume(token: string): Promise<JoinToken | undefined> {
    const row = await write(this.ctx, 'joinTokens.consume', (tx) =>
      tx.trx.deleteFrom('join_tokens').where('token', '=', token).returningAll().executeTakeFirst(),
    );
    return row ? toRecord(row) : undefined;
  }

  async pruneExpired(now: number): Promise<number> {
    const result = await write(this.ctx, 'joinTokens.pruneExpired', (tx) =>
      tx.trx.deleteFrom('join_tokens').where('expires_at', '<', now).executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}
