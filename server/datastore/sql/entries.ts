/**
 * Registration entries. Duplicates (same spiffe_id, parent_id and selector set) are caught three
 * times: within the batch, against committed rows before inserting (to name the existing entry),
 * and by the unique index on unique_key (so two servers racing cannot both commit one).
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { EntryStore } from '../datastore.js';
import { DatastoreError, DatastoreErrorCode, alreadyExists, notFound, q } from '../errors.js';
import type { EntryFilter, EntryPatch, NewEntry, Page, PageResult, RegistrationEntry } from '../types.js';
import { type SqlContext, query, read, write } from './context.js';
import { entryWhere } from './entry-filter.js';
import { deleteEntryChildren, entryRow, insertEntryChildren, loadEntries, normalizeEntry } from './entry-rows.js';
import { decodePageToken, finishPage, pageSize } from './paging.js';
import type { Database } from './schema.js';
import { chunk, nowSeconds, toNumber } from './values.js';

const duplicateMessage = (e: Pick<RegistrationEntry, 'spiffeId' | 'parentId'>, existingId: string): string =>
  `an entry with spiffe_id ${q(e.spiffeId)}, parent_id ${q(e.parentId)} and the same selectors already exists (id ${q(existingId)})`;

export class SqlEntryStore implements EntryStore {
  constructor(private readonly ctx: SqlContext) {}

  async create(newEntries: NewEntry[]): Promise<RegistrationEntry[]> {
    const createdAt = nowSeconds();
    const entries = newEntries.map((e) =>
      normalizeEntry({ ...e, id: e.id ?? randomUUID(), revision: 0, createdAt }),
    );
    const rows = entries.map((e) => entryRow(e, createdAt));
    checkBatch(entries, rows.map((r) => r.unique_key));
    if (entries.length === 0) return [];
    const { maxParams } = this.ctx.dialect;
    try {
      return await write(this.ctx, 'entries.create', async (tx) => {
        await rejectExisting(tx.trx, entries, rows.map((r) => r.unique_key), maxParams);
        for (const part of chunk(rows, 14, maxParams)) await tx.trx.insertInto('registration_entries').values(part).execute();
        await insertEntryChildren(tx.trx, entries, maxParams);
        for (const e of entries) tx.event('entry', e.id, 'upsert');
        return entries;
      });
    } catch (err) {
      throw await this.nameDuplicate(err, entries, rows.map((r) => r.unique_key), true);
    }
  }

  async get(id: string): Promise<RegistrationEntry | undefined> {
    return read(this.ctx, 'entries.get', async (trx) => {
      const row = await trx.selectFrom('registration_entries').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? (await loadEntries(trx, [row], this.ctx.dialect.maxParams))[0] : undefined;
    });
  }

  async list(filter?: EntryFilter, page?: Page): Promise<PageResult<RegistrationEntry>> {
    const size = pageSize(page);
    const after = decodePageToken(page?.pageToken);
    return read(this.ctx, 'entries.list', async (trx) => {
      const rows = await trx
        .selectFrom('registration_entries')
        .selectAll()
        .where(entryWhere(filter))
        .$if(after !== undefined, (qb) => qb.where('id', '>', after!))
        .orderBy('id')
        .$if(size > 0, (qb) => qb.limit(size + 1))
        .execute();
      const pageRows = finishPage(rows, size, (r) => r.id);
      const items = await loadEntries(trx, pageRows.rows, this.ctx.dialect.maxParams);
      return pageRows.nextPageToken === undefined ? { items } : { items, nextPageToken: pageRows.nextPageToken };
    });
  }

  async count(filter?: EntryFilter): Promise<number> {
    return query(this.ctx, 'entries.count', async (db) => {
      const row = await db
        .selectFrom('registration_entries')
        .select((eb) => eb.fn.countAll().as('n'))
        .where(entryWhere(filter))
        .executeTakeFirstOrThrow();
      return toNumber(row.n as number | bigint);
    });
  }

  async update(id: string, patch: EntryPatch): Promise<RegistrationEntry> {
    let written: { entry: RegistrationEntry; key: string } | undefined;
    try {
      return await write(this.ctx, 'entries.update', async (tx) => {
        const row = await tx.trx
          .selectFrom('registration_entries')
          .selectAll()
          .where('id', '=', id)
          .$if(this.ctx.dialect.rowLocks, (qb) => qb.forUpdate())
          .executeTakeFirst();
        if (!row) throw notFound(`entry ${q(id)}`);
        const [current] = await loadEntries(tx.trx, [row], this.ctx.dialect.maxParams);
        const next = normalizeEntry({ ...current!, ...definedOnly(patch), id, revision: current!.revision + 1, createdAt: current!.createdAt });
        const nextRow = entryRow(next, nowSeconds());
        written = { entry: next, key: nextRow.unique_key };
        const clash = await tx.trx
          .selectFrom('registration_entries')
          .select('id')
          .where('unique_key', '=', nextRow.unique_key)
          .where('id', '!=', id)
          .executeTakeFirst();
        if (clash) throw alreadyExists(duplicateMessage(next, clash.id));
        const { id: _id, created_at: _created, ...changes } = nextRow;
        await tx.trx.updateTable('registration_entries').set(changes).where('id', '=', id).execute();
        await deleteEntryChildren(tx.trx, id);
        await insertEntryChildren(tx.trx, [next], this.ctx.dialect.maxParams);
        tx.event('entry', id, 'upsert');
        return next;
      });
    } catch (err) {
      throw written ? await this.nameDuplicate(err, [written.entry], [written.key], false) : err;
    }
  }

  async delete(ids: string[]): Promise<RegistrationEntry[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    return write(this.ctx, 'entries.delete', async (tx) => {
      const rows = await lockEntries(tx.trx, unique, this.ctx);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const missing = unique.find((id) => !byId.has(id));
      if (missing !== undefined) throw notFound(`entry ${q(missing)}`);
      const deleted = await loadEntries(tx.trx, unique.map((id) => byId.get(id)!), this.ctx.dialect.maxParams);
      for (const part of chunk(unique, 1, this.ctx.dialect.maxParams)) {
        await tx.trx.deleteFrom('registration_entries').where('id', 'in', part).execute();
      }
      for (const id of unique) tx.event('entry', id, 'delete');
      return deleted;
    });
  }

  async pruneExpired(now: number): Promise<number> {
    return write(this.ctx, 'entries.pruneExpired', async (tx) => {
      const rows = await tx.trx
        .selectFrom('registration_entries')
        .select('id')
        .where('expires_at', 'is not', null)
        .where('expires_at', '<', now)
        .orderBy('id')
        .$if(this.ctx.dialect.rowLocks, (qb) => qb.forUpdate())
        .execute();
      const ids = rows.map((r) => r.id);
      for (const part of chunk(ids, 1, this.ctx.dialect.maxParams)) {
        await tx.trx.deleteFrom('registration_entries').where('id', 'in', part).execute();
      }
      for (const id of ids) tx.event('entry', id, 'delete');
      return ids.length;
    });
  }

  /**
   * A unique-index violation from the driver (the mapped error keeps it as `cause`; the checks
   * above raise theirs without one) means another writer committed a duplicate after our check.
   * Look it up, outside the failed transaction, so the error names it like every other.
   */
  private async nameDuplicate(err: unknown, entries: RegistrationEntry[], keys: string[], checkIds: boolean): Promise<unknown> {
    if (!(err instanceof DatastoreError) || err.code !== DatastoreErrorCode.alreadyExists || err.cause === undefined) return err;
    try {
      return (await this.findDuplicate(entries, keys, checkIds, err)) ?? err;
    } catch {
      // Naming the duplicate is a courtesy; if the lookup fails too, the write's own error (which
      // carries the driver's) is the one to report.
      return err;
    }
  }

  private async findDuplicate(entries: RegistrationEntry[], keys: string[], checkIds: boolean, cause: unknown): Promise<DatastoreError | undefined> {
    const { maxParams } = this.ctx.dialect;
    const index = new Map(keys.map((k, i) => [k, i]));
    for (const part of chunk(keys, 1, maxParams)) {
      const rows = await query(this.ctx, 'entries', (db) =>
        db.selectFrom('registration_entries').select(['id', 'unique_key']).where('unique_key', 'in', part).execute(),
      );
      for (const row of rows) {
        const mine = entries[index.get(row.unique_key)!]!;
        if (row.id !== mine.id) return alreadyExists(duplicateMessage(mine, row.id), cause);
      }
    }
    if (!checkIds) return undefined;
    for (const part of chunk(entries.map((e) => e.id), 1, maxParams)) {
      const taken = await query(this.ctx, 'entries', (db) =>
        db.selectFrom('registration_entries').select('id').where('id', 'in', part).orderBy('id').executeTakeFirst(),
      );
      if (taken) return alreadyExists(`entry ${q(taken.id)} already exists`, cause);
    }
    return undefined;
  }
}

/** Rejects a batch that repeats an id or an entry within itself, before touching the database. */
function checkBatch(entries: RegistrationEntry[], keys: string[]): void {
  const seenKeys = new Map<string, number>();
  const seenIds = new Set<string>();
  entries.forEach((e, i) => {
    if (seenIds.has(e.id)) throw alreadyExists(`entry id ${q(e.id)} appears more than once in the batch`);
    seenIds.add(e.id);
    const first = seenKeys.get(keys[i]!);
    if (first !== undefined) {
      throw alreadyExists(
        `an entry with spiffe_id ${q(e.spiffeId)}, parent_id ${q(e.parentId)} and the same selectors is already in the batch ` +
          `(entries ${first + 1} and ${i + 1} of ${entries.length}; id ${q(entries[first]!.id)})`,
      );
    }
    seenKeys.set(keys[i]!, i);
  });
}

async function rejectExisting(db: Kysely<Database>, entries: RegistrationEntry[], keys: string[], maxParams: number): Promise<void> {
  const index = new Map(keys.map((k, i) => [k, i]));
  for (const part of chunk(keys, 1, maxParams)) {
    const clash = await db.selectFrom('registration_entries').select(['id', 'unique_key']).where('unique_key', 'in', part).orderBy('id').executeTakeFirst();
    if (clash) throw alreadyExists(duplicateMessage(entries[index.get(clash.unique_key)!]!, clash.id));
  }
  for (const part of chunk(entries.map((e) => e.id), 1, maxParams)) {
    const taken = await db.selectFrom('registration_entries').select('id').where('id', 'in', part).orderBy('id').executeTakeFirst();
    if (taken) throw alreadyExists(`entry ${q(taken.id)} already exists`);
  }
}

/** Locks the rows in id order, so two deletes of overlapping sets cannot deadlock. */
async function lockEntries(db: Kysely<Database>, ids: string[], ctx: SqlContext) {
  const rows = [];
  for (const part of chunk(ids, 1, ctx.dialect.maxParams)) {
    rows.push(
      ...(await db
        .selectFrom('registration_entries')
        .selectAll()
        .where('id', 'in', part)
        .orderBy('id')
        .$if(ctx.dialect.rowLocks, (qb) => qb.forUpdate())
        .execute()),
    );
  }
  return rows;
}

/** A patch with `undefined` values dropped, so `{ hint: undefined }` keeps the hint. */
function definedOnly(patch: EntryPatch): EntryPatch {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as EntryPatch;
}
