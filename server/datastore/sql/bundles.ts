/**
 * Bundles, own and federated, as the SPIFFE bundle JSON document plus its sequence number. Several
 * servers append their CA certificates to one trust-domain bundle, so update is a read-modify-write
 * under the row lock. A bundle that does not exist yet has no row to lock: two servers may both
 * try to insert it, the loser's INSERT fails on the primary key, and its whole update runs again
 * on top of the winner's row.
 */
import type { BundleStore } from '../datastore.js';
import { DatastoreError, DatastoreErrorCode, conflict, invalid, notFound, q } from '../errors.js';
import type { StoredBundle } from '../types.js';
import { CallerError, type SqlContext, query, write } from './context.js';
import type { BundleRow } from './schema.js';
import { compareStrings, nowSeconds, sequenceFromColumn, sequenceToColumn } from './values.js';

const INSERT_RACE_ATTEMPTS = 5;

const toRecord = (r: BundleRow): StoredBundle => ({
  trustDomain: r.trust_domain,
  document: r.document,
  sequence: sequenceFromColumn(r.sequence),
});

export class SqlBundleStore implements BundleStore {
  constructor(private readonly ctx: SqlContext) {}

  async get(trustDomain: string): Promise<StoredBundle | undefined> {
    const row = await query(this.ctx, 'bundles.get', (db) =>
      db.selectFrom('bundles').selectAll().where('trust_domain', '=', trustDomain).executeTakeFirst(),
    );
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<StoredBundle[]> {
    const rows = await query(this.ctx, 'bundles.list', (db) => db.selectFrom('bundles').selectAll().execute());
    return rows.map(toRecord).sort((a, b) => compareStrings(a.trustDomain, b.trustDomain));
  }

  /** `fn` may run more than once (after a lost insert race or a deadlock), so it must not have side effects. */
  async update(
    trustDomain: string,
    fn: (current: StoredBundle | undefined) => StoredBundle | undefined,
  ): Promise<StoredBundle | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.updateOnce(trustDomain, fn);
      } catch (err) {
        const lostInsertRace = err instanceof DatastoreError && err.code === DatastoreErrorCode.alreadyExists;
        if (!lostInsertRace) throw err;
        if (attempt >= INSERT_RACE_ATTEMPTS) {
          throw conflict(`bundle ${q(trustDomain)} kept being created concurrently; retry`, err);
        }
      }
    }
  }

  async delete(trustDomain: string): Promise<void> {
    await write(this.ctx, 'bundles.delete', async (tx) => {
      const result = await tx.trx.deleteFrom('bundles').where('trust_domain', '=', trustDomain).executeTakeFirst();
      if (result.numDeletedRows === 0n) throw notFound(`bundle for trust domain ${q(trustDomain)}`);
      tx.event('bundle', trustDomain, 'delete');
    });
  }

  private updateOnce(
    trustDomain: string,
    fn: (current: StoredBundle | undefined) => StoredBundle | undefined,
  ): Promise<StoredBundle | undefined> {
    return write(this.ctx, 'bundles.update', async (tx) => {
      const row = await tx.trx
        .selectFrom('bundles')
        .selectAll()
        .where('trust_domain', '=', trustDomain)
        .$if(this.ctx.dialect.rowLocks, (qb) => qb.forUpdate())
        .executeTakeFirst();
      const current = row ? toRecord(row) : undefined;
      let next: StoredBundle | undefined;
      try {
        next = fn(current);
      } catch (err) {
        throw new CallerError(err);
      }
      if (next === undefined) return current;
      if (next.trustDomain !== trustDomain) {
        throw invalid(`bundle update for trust domain ${q(trustDomain)} returned a bundle for ${q(next.trustDomain)}`);
      }
      const sequence = sequenceToColumn(next.sequence);
      const now = nowSeconds();
      if (row) {
        await tx.trx
          .updateTable('bundles')
          .set({ document: next.document, sequence, updated_at: now })
          .where('trust_domain', '=', trustDomain)
          .execute();
      } else {
        await tx.trx
          .insertInto('bundles')
          .values({ trust_domain: trustDomain, document: next.document, sequence, created_at: now, updated_at: now })
          .execute();
      }
      tx.event('bundle', trustDomain, 'upsert');
      return { trustDomain, document: next.document, sequence: next.sequence };
    });
  }
}
