/**
 * EntryService: registration entries. A batch is validated whole before the datastore sees it
 * (so the operator learns about every bad entry at once) and then created in one transaction.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { SigilError, Status } from '../../../spiffe/errors.js';
import { notFound, q } from '../../datastore/errors.js';
import type { NewEntry } from '../../datastore/types.js';
import { validateEntry, validateEntryPatch } from '../../registration/index.js';
import { entryInputFromMsg, entryToMsg, filterFromMsg, pageFromMsg, patchInputFromMsg } from './convert.js';
import { AdminError, AdminErrorCode, invalidRequest } from './errors.js';
import type { EntryFilterMsg, EntryMaskMsg, EntryMsg } from './messages.js';
import { unary } from './rpc.js';
import type { HandlerContext } from './context.js';

/** How many per-entry failures one error message lists; the rest are counted. */
const MAX_LISTED_FAILURES = 20;

interface Failure {
  index: number;
  status: number;
  message: string;
}

function label(index: number, m: Partial<EntryMsg> | null | undefined): string {
  const id = typeof m?.spiffe_id === 'string' && m.spiffe_id !== '' ? ` (spiffe_id ${q(m.spiffe_id)})` : '';
  return `entries[${index}]${id}`;
}

/**
 * One failure of a one-entry batch reads as that entry's error; larger batches list them by index.
 * Only a batch whose sole faults are repeats of its own entries is ALREADY_EXISTS.
 */
function batchError(failures: Failure[], msgs: readonly (Partial<EntryMsg> | null)[]): AdminError {
  const code = failures.every((f) => f.status === Status.ALREADY_EXISTS) ? AdminErrorCode.duplicate : AdminErrorCode.invalid;
  if (msgs.length === 1) return new AdminError(code, failures[0]!.message);
  const lines = failures.slice(0, MAX_LISTED_FAILURES).map((f) => `  ${label(f.index, msgs[f.index])}: ${f.message}`);
  if (failures.length > MAX_LISTED_FAILURES) lines.push(`  … and ${failures.length - MAX_LISTED_FAILURES} more`);
  const head = `${failures.length} of ${msgs.length} entries cannot be created, so none was:`;
  return new AdminError(code, [head, ...lines].join('\n'));
}

/** Entries of the batch that repeat an earlier one's spiffe_id, parent_id and selector set. */
function duplicatesWithin(entries: readonly (NewEntry | undefined)[]): Failure[] {
  const first = new Map<string, number>();
  const failures: Failure[] = [];
  entries.forEach((e, index) => {
    if (e === undefined) return;
    const key = JSON.stringify([e.spiffeId, e.parentId, e.selectors.map((s) => [s.type, s.value])]);
    const earlier = first.get(key);
    if (earlier === undefined) first.set(key, index);
    else failures.push({ index, status: Status.ALREADY_EXISTS, message: `entry: same spiffe_id, parent_id and selectors as entries[${earlier}]` });
  });
  return failures;
}

function requireId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') throw invalidRequest(`${field} is required`);
  return v;
}

export function entryService(ctx: HandlerContext): UntypedServiceImplementation {
  const { datastore: ds, logger } = ctx;
  return {
    CreateEntries: unary<{ entries: EntryMsg[] }, { entries: EntryMsg[] }>(logger, 'EntryService/CreateEntries', async (req) => {
      const msgs: (Partial<EntryMsg> | null)[] = Array.isArray(req.entries) ? req.entries : [];
      if (msgs.length === 0) throw invalidRequest('entries: at least one entry is required');
      const failures: Failure[] = [];
      const valid = msgs.map((m, index) => {
        try {
          return validateEntry(entryInputFromMsg(m), ctx.limits);
        } catch (err) {
          if (!(err instanceof SigilError) || err.status !== Status.INVALID_ARGUMENT) throw err;
          failures.push({ index, status: err.status, message: err.message });
          return undefined;
        }
      });
      failures.push(...duplicatesWithin(valid));
      if (failures.length > 0) throw batchError(failures.sort((a, b) => a.index - b.index), msgs);
      const created = await ds.entries.create(valid as NewEntry[]);
      logger.info(`admin: created ${created.length} ${created.length === 1 ? 'entry' : 'entries'}`, {
        count: created.length,
        ids: created.length <= 10 ? created.map((e) => e.id) : undefined,
      });
      return { entries: created.map(entryToMsg) };
    }),

    GetEntry: unary<{ id: string }, EntryMsg>(logger, 'EntryService/GetEntry', async (req) => {
      const id = requireId(req.id, 'get: id');
      const entry = await ds.entries.get(id);
      if (!entry) throw notFound(`entry ${q(id)}`);
      return entryToMsg(entry);
    }),

    ListEntries: unary<
      { filter: EntryFilterMsg; page_size: number; page_token: string },
      { entries: EntryMsg[]; next_page_token: string }
    >(logger, 'EntryService/ListEntries', async (req) => {
      const result = await ds.entries.list(filterFromMsg(req.filter), pageFromMsg(req.page_size, req.page_token));
      return { entries: result.items.map(entryToMsg), next_page_token: result.nextPageToken ?? '' };
    }),

    CountEntries: unary<{ filter: EntryFilterMsg }, { count: number }>(logger, 'EntryService/CountEntries', async (req) => ({
      count: await ds.entries.count(filterFromMsg(req.filter)),
    })),

    UpdateEntry: unary<{ id: string; entry: EntryMsg; mask: EntryMaskMsg }, EntryMsg>(logger, 'EntryService/UpdateEntry', async (req) => {
      const id = requireId(req.id, 'update: id');
      const patch = validateEntryPatch(patchInputFromMsg(req.entry, req.mask), ctx.limits);
      const updated = await ds.entries.update(id, patch);
      logger.info(`admin: updated entry ${q(id)} to revision ${updated.revision}`, { id, fields: Object.keys(patch) });
      return entryToMsg(updated);
    }),

    DeleteEntries: unary<{ ids: string[] }, { entries: EntryMsg[] }>(logger, 'EntryService/DeleteEntries', async (req) => {
      const ids: unknown[] = Array.isArray(req.ids) ? req.ids : [];
      if (ids.length === 0) throw invalidRequest('delete: at least one entry id is required');
      ids.forEach((id, i) => requireId(id, `delete: ids[${i}]`));
      const deleted = await ds.entries.delete(ids as string[]);
      logger.info(`admin: deleted ${deleted.length} ${deleted.length === 1 ? 'entry' : 'entries'}`, { ids: deleted.map((e) => e.id) });
      return { entries: deleted.map(entryToMsg) };
    }),
  };
}
