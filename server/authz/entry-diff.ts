/** Whether two records of one entry differ in anything an agent holds, and per-agent change history. */
import type { RegistrationEntry, Selector } from '../datastore/types.js';

const sameSelectors = (a: readonly Selector[], b: readonly Selector[]): boolean =>
  a.length === b.length && a.every((s, i) => s.type === b[i]!.type && s.value === b[i]!.value);

const sameStrings = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((s, i) => s === b[i]);

/**
 * Field by field rather than by revision alone: an entry deleted and created again with its id
 * starts at revision 0 again, possibly within the same second.
 */
export function sameEntry(a: RegistrationEntry, b: RegistrationEntry): boolean {
  if (a === b) return true;
  return (
    a.id === b.id &&
    a.revision === b.revision &&
    a.createdAt === b.createdAt &&
    a.spiffeId === b.spiffeId &&
    a.parentId === b.parentId &&
    a.x509SvidTtl === b.x509SvidTtl &&
    a.jwtSvidTtl === b.jwtSvidTtl &&
    a.hint === b.hint &&
    a.admin === b.admin &&
    a.downstream === b.downstream &&
    a.expiresAt === b.expiresAt &&
    sameSelectors(a.selectors, b.selectors) &&
    sameStrings(a.dnsNames, b.dnsNames) &&
    sameStrings(a.federatesWith, b.federatesWith)
  );
}

/**
 * The entry ids whose membership or content changed in an agent's set, tagged so that a
 * reconnecting agent can be sent only those. A record's tag is the highest event id of the batch
 * that caused it (or MAX_SAFE_INTEGER for changes not tied to one), so every change caused by an
 * event after N is in a record tagged above N. `floor` is the lowest N this history can answer:
 * it starts where tracking started and rises as old records are dropped to bound memory.
 */
export class ChangeHistory {
  #records: { tag: number; ids: string[] }[] = [];
  #size = 0;
  #floor: number;

  constructor(
    floor: number,
    private readonly maxIds: number,
  ) {
    this.#floor = floor;
  }

  get floor(): number {
    return this.#floor;
  }

  record(tag: number, ids: string[]): void {
    this.#records.push({ tag, ids });
    this.#size += ids.length;
    while (this.#size > this.maxIds && this.#records.length > 0) {
      const dropped = this.#records.shift()!;
      this.#size -= dropped.ids.length;
      this.#floor = Math.max(this.#floor, dropped.tag);
    }
  }

  /** Ids changed by events after `eventId`, or undefined when the history no longer reaches back that far. */
  changedAfter(eventId: number): Set<string> | undefined {
    if (eventId < this.#floor) return undefined;
    const ids = new Set<string>();
    for (const r of this.#records) if (r.tag > eventId) for (const id of r.ids) ids.add(id);
    return ids;
  }
}
