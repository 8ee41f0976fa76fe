/** CA journals: one row per server instance, each server writing only its own. */
import type { CaJournalStore } from '../datastore.js';
import type { CaJournal } from '../types.js';
import { type SqlContext, query, write } from './context.js';
import type { CaJournalRow } from './schema.js';
import { nowSeconds, toNumber } from './values.js';

const toRecord = (r: CaJournalRow): CaJournal => ({
  serverInstanceId: r.server_instance_id,
  data: r.data,
  updatedAt: toNumber(r.updated_at),
});

export class SqlCaJournalStore implements CaJournalStore {
  constructor(private readonly ctx: SqlContext) {}

  async get(serverInstanceId: string): Promise<CaJournal | undefined> {
    const row = await query(this.ctx, 'caJournals.get', (db) =>
      db.selectFrom('ca_journals').selectAll().where('server_instance_id', '=', serverInstanceId).executeTakeFirst(),
    );
    return row ? toRecord(row) : undefined;
  }

  async list(): Promise<CaJournal[]> {
    const rows = await query(this.ctx, 'caJournals.list', (db) => db.selectFrom('ca_journals').selectAll().orderBy('server_instance_id').execute());
    return rows.map(toRecord);
  }

  async put(serverInstanceId: string, data: string): Promise<CaJournal> {
    const updatedAt = nowSeconds();
    const row = await write(this.ctx, 'caJournals.put', (tx) =>
      tx.trx
        .insertInto('ca_journals')
        .values({ server_instance_id: serverInstanceId, data, updated_at: updatedAt })
        .onConflict((oc) => oc.column('server_instance_id').doUpdateSet({ data, updated_at: updatedAt }))
        .returningAll()
        .executeTakeFirstOrThrow(),
    );
    return toRecord(row);
  }
}
