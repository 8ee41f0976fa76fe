/**
 * The change-event log, read side. Events are appended by context.ts's write() in the
 * transaction of the change they record.
 *
 * Reading it correctly: ids increase, but on PostgreSQL they are taken from a sequence when the
 * row is inserted, and transactions commit in any order, so a reader can see id 11 before id 10
 * commits; an id whose transaction rolled back never appears at all. A reader that simply resumes
 * after the highest id it saw would lose id 10. Readers must instead remember which ids below
 * their high-water mark they have not seen yet and keep looking for them for a while (EventTail
 * does this). On SQLite writers are serialized by the database lock, so ids commit in order and
 * the only holes are the ones pruning leaves below the oldest event.
 */
import type { EventStore } from '../datastore.js';
import type { ChangeEvent, ChangeKind } from '../types.js';
import { type SqlContext, query, write } from './context.js';
import type { ChangeNotifier } from './notifier.js';
import { toNumber } from './values.js';

const DEFAULT_LIMIT = 1000;

export class SqlEventStore implements EventStore {
  constructor(
    private readonly ctx: SqlContext,
    private readonly notifier: ChangeNotifier,
  ) {}

  async latestId(): Promise<number> {
    const row = await query(this.ctx, 'events.latestId', (db) =>
      db.selectFrom('change_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst(),
    );
    return row?.id == null ? 0 : toNumber(row.id);
  }

  async since(afterId: number, limit = DEFAULT_LIMIT): Promise<ChangeEvent[]> {
    const rows = await query(this.ctx, 'events.since', (db) =>
      db.selectFrom('change_events').selectAll().where('id', '>', afterId).orderBy('id').limit(limit).execute(),
    );
    return rows.map((r) => ({
      id: toNumber(r.id),
      kind: r.kind as ChangeKind,
      key: r.key,
      op: r.op as ChangeEvent['op'],
      at: toNumber(r.at),
    }));
  }

  onChange(listener: () => void): () => void {
    return this.notifier.subscribe(listener);
  }

  /** Keeps the newest event whatever its age, so latestId() never goes back after a prune. */
  async pruneOlderThan(at: number): Promise<number> {
    return write(this.ctx, 'events.pruneOlderThan', async (tx) => {
      const newest = await tx.trx.selectFrom('change_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
      if (newest?.id == null) return 0;
      const result = await tx.trx
        .deleteFrom('change_events')
        .where('at', '<', at)
        .where('id', '<', newest.id)
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    });
  }
}
