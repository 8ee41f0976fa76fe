/**
 * Rotation of this server's X.509 CA and JWT key, SPIRE's schedule (schedule.ts): at ½ of the
 * active authority's life the next one is made in the other slot and published in the bundle at
 * once, so agents and workloads trust it before it signs anything; at ⅚ it becomes active and the
 * previous one old; an old one leaves the bundle once it has expired (plus a margin), by which time
 * every SVID it signed has expired too.
 *
 * Every step writes the journal before the state in memory changes, so a restart resumes where
 * the step left off (startup.ts): a prepared authority is found again, an old one is still pruned.
 * Pruning removes what this server's own journal put into the bundle, never an upstream root
 * another of its own authorities still chains to; another server's authorities only once they
 * expired over an hour ago (#pruneOthers), which a live server has done itself by then.
 *
 * Steps run one at a time (the timer's and an operator's alike). Time comes from CaConfig.now, so
 * unit tests drive tick() with a fake clock; start() adds a real timer that wakes up when the next
 * step is due.
 */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { messageOf } from '../../spiffe/errors.js';
import type { BundlePublisher } from './bundle-publisher.js';
import type { CaConfig } from './config.js';
import { CaError, CaErrorCode } from './errors.js';
import { encodeJournal, parseJournal, promotePrepared, withPrepared, type Journal } from './journal.js';
import { JWT_KIND, X509_KIND, type Authority, type AuthorityKind, type AuthorityRecord, type KindName, type Slots } from './kinds.js';
import { activateAt, MAX_PRUNE_MARGIN_MS, prepareAt, pruneAt, pruneMarginMs } from './schedule.js';
import { otherSlot, publishedAuthorities, type CaState } from './startup.js';

/** The timer sleeps at most this long, so a clock that jumps is noticed. */
const MAX_SLEEP_MS = 10_000;
/** ...and at least this long, so a step that keeps failing does not spin. */
const MIN_SLEEP_MS = 50;
/** After a failed step, try again this soon. */
const RETRY_MS = 5_000;
/**
 * A prepared authority that reached the bundle late (its key manager or the database was down at ½
 * of the active one's life, and the step was retried) is activated no sooner than a tenth of the
 * usual prepare-to-activate lead after it got there, at most this long after: agents and workloads
 * must receive it before anything it signs reaches them.
 */
const MAX_LATE_LEAD_MS = 60_000;
/** Other servers' journals are read for expired authorities at most this often. */
const OTHERS_INTERVAL_MS = 60_000;

// Both kinds share the state's shape; the cast only widens the element types.
const KINDS = [X509_KIND, JWT_KIND] as unknown as readonly AuthorityKind<Authority, AuthorityRecord>[];

export interface Schedule {
  /** When the next authority will be prepared; undefined while one is prepared. */
  prepareAt: Date | undefined;
  /** When the prepared one (or, if none is prepared yet, the one prepared by then) takes over. */
  activateAt: Date;
}

export class Rotator {
  readonly #c: CaConfig;
  readonly #publisher: BundlePublisher;
  readonly #state: CaState;
  readonly #marginMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** Kinds whose prepared authority is in the journal but failed to publish: the next step retries. */
  readonly #unpublished = new Set<KindName>();
  /** When the prepared authority reached the bundle, by kind (unknown for one found at startup). */
  readonly #publishedAt = new Map<KindName, number>();
  #othersCheckedAt = -Infinity;

  constructor(c: CaConfig, publisher: BundlePublisher, state: CaState) {
    this.#c = c;
    this.#publisher = publisher;
    this.#state = state;
    this.#marginMs = pruneMarginMs(c.caTtlSeconds);
  }

  /** How long an old authority stays in the bundle after it expires. */
  get pruneMarginMs(): number {
    return this.#marginMs;
  }

  /** Does whatever is due now: prepare, activate, prune. */
  tick(): Promise<void> {
    return this.#serial(async () => {
      const now = this.#c.now();
      if (this.#unpublished.size > 0) {
        await this.#publisher.addAuthorities(publishedAuthorities(this.#state));
        for (const kind of this.#unpublished) this.#publishedAt.set(kind, now.getTime());
        this.#unpublished.clear();
      }
      for (const kind of KINDS) {
        const slots = this.#slots(kind);
        if (slots.prepared === undefined && now >= prepareAt(slots.active)) await this.#prepare(kind, now);
        if (slots.prepared !== undefined && now >= this.#activationDue(kind)) await this.#activate(kind);
      }
      await this.#prune(now);
      await this.#pruneOthers(now);
    });
  }

  /** Prepares the next authority of each kind now, replacing one already prepared (it becomes old). */
  prepare(kinds: readonly KindName[]): Promise<void> {
    return this.#serial(async () => {
      for (const kind of this.#kinds(kinds)) await this.#prepare(kind, this.#c.now());
    });
  }

  /** Activates the prepared authority of each kind now; refuses, changing nothing, if one has none. */
  activate(kinds: readonly KindName[]): Promise<void> {
    return this.#serial(async () => {
      const chosen = this.#kinds(kinds);
      const missing = chosen.filter((k) => this.#slots(k).prepared === undefined).map((k) => k.label);
      if (missing.length > 0) {
        throw new CaError(
          CaErrorCode.rotation,
          `no ${missing.join(' and no ')} is prepared: prepare one first (sigil server ca rotate --prepare), ` +
            'and give agents a bundle refresh to receive it before activating',
        );
      }
      for (const kind of chosen) await this.#activate(kind);
    });
  }

  schedule(kind: KindName): Schedule {
    const k = KINDS.find((x) => x.name === kind)!;
    const slots = this.#slots(k);
    return { prepareAt: slots.prepared === undefined ? prepareAt(slots.active) : undefined, activateAt: this.#activationDue(k) };
  }

  /** The earliest time a step is due: a prepare, an activation, or an old authority to prune. */
  nextDue(): Date {
    let due = Infinity;
    for (const kind of KINDS) {
      const slots = this.#slots(kind);
      const at = slots.prepared === undefined ? prepareAt(slots.active) : this.#activationDue(kind);
      due = Math.min(due, at.getTime());
      for (const r of kind.records(this.#state.journal)) {
        if (r.status === 'old') due = Math.min(due, pruneAt(new Date(r.notAfter * 1000), this.#marginMs).getTime());
      }
    }
    return new Date(due);
  }

  /** Runs tick() whenever a step is due, until stop(). */
  start(): void {
    this.#stopped = false;
    this.#wake(0);
  }

  /** Stops the timer and waits for a step under way. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#queue.catch(() => undefined);
  }

  #wake(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.tick().then(
        () => this.#wake(Math.min(MAX_SLEEP_MS, Math.max(MIN_SLEEP_MS, this.nextDue().getTime() - this.#c.now().getTime()))),
        (err: unknown) => {
          this.#c.logger.error(`CA rotation failed: ${messageOf(err)}; retrying in ${RETRY_MS / 1000} s`, { err: messageOf(err) });
          this.#wake(RETRY_MS);
        },
      );
    }, ms);
    this.#timer.unref();
  }

  /** When the timer activates the prepared authority: at ⅚, or later if it reached the bundle late. */
  #activationDue(kind: AuthorityKind<Authority, AuthorityRecord>): Date {
    const active = this.#slots(kind).active;
    const due = activateAt(active);
    const published = this.#publishedAt.get(kind.name);
    if (published === undefined) return due;
    const lead = Math.min((due.getTime() - prepareAt(active).getTime()) / 10, MAX_LATE_LEAD_MS);
    return new Date(Math.max(due.getTime(), published + lead));
  }

  #serial<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#queue.catch(() => undefined).then(step);
    this.#queue = run;
    return run;
  }

  #kinds(names: readonly KindName[]): AuthorityKind<Authority, AuthorityRecord>[] {
    return KINDS.filter((k) => names.includes(k.name));
  }

  #slots(kind: AuthorityKind<Authority, AuthorityRecord>): Slots<Authority> {
    return kind.name === 'x509' ? this.#state.x509 : this.#state.jwt;
  }

  async #save(journal: Journal): Promise<void> {
    await this.#c.journals.put(this.#c.serverInstanceId, encodeJournal(journal));
    this.#state.journal = journal;
  }

  async #prepare(kind: AuthorityKind<Authority, AuthorityRecord>, now: Date): Promise<void> {
    const slots = this.#slots(kind);
    // The other slot's key belongs to an old or replaced prepared authority, which signs nothing.
    const next = await kind.create(this.#c, otherSlot(slots.active.slot), now);
    const journal = this.#state.journal;
    await this.#save(kind.withRecords(journal, withPrepared(kind.records(journal), kind.toRecord(next, 'prepared'))));
    slots.prepared = next;
    this.#publishedAt.delete(kind.name);
    this.#unpublished.add(kind.name);
    await this.#publisher.addAuthorities(kind.published(next));
    this.#unpublished.delete(kind.name);
    this.#publishedAt.set(kind.name, now.getTime());
    this.#c.logger.info(`prepared the next ${kind.label} and published it in the bundle`, {
      ...kind.logFields(this.#c, next), activateAt: activateAt(slots.active).toISOString(),
    });
  }

  async #activate(kind: AuthorityKind<Authority, AuthorityRecord>): Promise<void> {
    const slots = this.#slots(kind);
    const next = slots.prepared!;
    // Already there unless a crash came between the journal and the bundle when it was prepared.
    await this.#publisher.addAuthorities(kind.published(next));
    this.#unpublished.delete(kind.name);
    const journal = this.#state.journal;
    await this.#save(kind.withRecords(journal, promotePrepared(kind.records(journal))));
    const previous = slots.active;
    slots.active = next;
    slots.prepared = undefined;
    this.#publishedAt.delete(kind.name);
    this.#c.logger.info(`activated the ${kind.label} ${kind.idOf(next)}; the previous one stays in the bundle until it expires`, {
      [kind.idField]: kind.idOf(next), previous: kind.idOf(previous), previousNotAfter: previous.notAfter.toISOString(),
    });
  }

  /** Takes old authorities past their expiry and margin out of the bundle (one change), then out of the journal. */
  async #prune(now: Date): Promise<void> {
    const journal = this.#state.journal;
    const due = KINDS.map((kind) => {
      const records = kind.records(journal);
      const expired = records.filter((r) => r.status === 'old' && now >= pruneAt(new Date(r.notAfter * 1000), this.#marginMs));
      return { kind, records, expired, keep: records.filter((r) => r.status !== 'old') };
    });
    if (due.every((d) => d.expired.length === 0)) return;
    const expiredBy = new Date(now.getTime() - this.#marginMs);
    await this.#publisher.apply((bundle) => {
      let changed = false;
      for (const d of due) for (const r of d.expired) changed = d.kind.unpublish(bundle, r, d.keep, expiredBy) || changed;
      return changed;
    });
    let next = journal;
    for (const d of due) next = d.kind.withRecords(next, d.records.filter((r) => !d.expired.includes(r)));
    await this.#save(next);
    for (const d of due) {
      for (const r of d.expired) {
        this.#c.logger.info(`removed the expired ${d.kind.label} ${d.kind.idOf(r)} from the bundle`, {
          [d.kind.idField]: d.kind.idOf(r), notAfter: new Date(r.notAfter * 1000).toISOString(),
        });
      }
    }
  }

  /**
   * Takes out of the bundle what other servers' journals list and what expired over an hour ago
   * (the widest margin a server keeps). A live server has pruned it itself by then; one gone for
   * good never will, and its JWT keys, which carry no expiry in the bundle, would be trusted for
   * ever (with a server restarted on a fresh data directory, one more each time). Nothing they
   * signed is valid any more: SVIDs and JWT-SVIDs are capped at their signer's notAfter. Their
   * journals are left alone: a server that comes back finds its authority gone from the bundle
   * and makes a new one (startup.ts).
   */
  async #pruneOthers(now: Date): Promise<void> {
    if (now.getTime() - this.#othersCheckedAt < OTHERS_INTERVAL_MS) return;
    this.#othersCheckedAt = now.getTime();
    const expiredBy = new Date(now.getTime() - MAX_PRUNE_MARGIN_MS);
    const due: { kind: AuthorityKind<Authority, AuthorityRecord>; record: AuthorityRecord; server: string }[] = [];
    for (const stored of await this.#c.journals.list()) {
      if (stored.serverInstanceId === this.#c.serverInstanceId) continue;
      let journal: Journal;
      try {
        journal = parseJournal(stored.serverInstanceId, stored.data);
      } catch (err) {
        this.#c.logger.warn(`not pruning another server's authorities: ${messageOf(err)}`, { serverInstanceId: stored.serverInstanceId });
        continue;
      }
      for (const kind of KINDS) {
        for (const record of kind.records(journal)) {
          if (record.notAfter * 1000 <= expiredBy.getTime()) due.push({ kind, record, server: stored.serverInstanceId });
        }
      }
    }
    if (due.length === 0) return;
    const removed = (bundle: SpiffeBundle): typeof due =>
      due.filter((d) => d.kind.unpublish(bundle, d.record, d.kind.records(this.#state.journal).filter((r) => r.status !== 'old'), expiredBy));
    // Most passes find them gone already: look before taking the bundle's lock.
    const found = removed(await this.#publisher.fetch());
    if (found.length === 0) return;
    await this.#publisher.apply((bundle) => removed(bundle).length > 0);
    for (const d of found) {
      this.#c.logger.info(`removed the expired ${d.kind.label} ${d.kind.idOf(d.record)} of server instance ${d.server} from the bundle`, {
        [d.kind.idField]: d.kind.idOf(d.record), serverInstanceId: d.server, notAfter: new Date(d.record.notAfter * 1000).toISOString(),
      });
    }
  }
}
