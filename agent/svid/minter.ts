/**
 * Turns entries into X.509-SVIDs: for every entry without a current SVID (new, revision changed,
 * or due for rotation) it generates a key here, sends a CSR in a MintX509SVIDs batch, and puts
 * the result in the cache. Work is gathered per event-loop turn, so a pushed update of 1,000
 * entries becomes a few batches (several in flight at once, so key generation for one overlaps the
 * server signing another), not 1,000 calls, and with no per-second cap (SPIRE's made bulk issuance
 * slow). While a burst is out the cache holds its flushes, so callers see one full set.
 *
 * One timer covers every SVID: it fires at the earliest rotation time (half-life ± 10 %) or expiry.
 * Rotations due within a second of each other go out together. An SVID that expires while the
 * server cannot be reached leaves the cache then, not before: cached SVIDs are served until expiry.
 */
import { messageOf, Status } from '../../spiffe/errors.js';
import type { X509SvidRequest } from '../client/api.js';
import { Backoff } from '../client/backoff.js';
import type { MintX509SvidsResponseMessage } from '../client/messages.js';
import type { MintedSvid, SyncedEntry } from '../cache/entry.js';
import type { IdentityCache } from '../cache/identity-cache.js';
import type { WorkloadKeyType } from '../config/index.js';
import type { Logger } from '../logger.js';
import { buildCsr } from './csr.js';
import { generateWorkloadKey } from './keys.js';
import { rotationTimeMs } from './rotation.js';

export interface SvidMinterOptions {
  cache: Pick<IdentityCache, 'entry' | 'svid' | 'svids' | 'putSvids' | 'dropSvids' | 'holdFlushes'>;
  keyType: WorkloadKeyType;
  /** Rejects when the server cannot be asked (not attested yet, unreachable). */
  mint: (requests: X509SvidRequest[]) => Promise<MintX509SvidsResponseMessage>;
  /** Every call's outcome: undefined on success, else the error (a refusal may stop the agent). */
  onCallResult: (err: unknown) => void;
  logger: Logger;
  /** CSRs per call (default 250; the server takes at most 1,000). */
  batchSize?: number;
  /** Calls in flight at once (default 4). */
  maxInFlight?: number;
  now?: () => number;
}

/** Rotations due this close together are sent in one go. */
const ROTATION_WINDOW_MS = 1000;
/** setTimeout's limit (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SvidMinter {
  readonly #o: SvidMinterOptions;
  readonly #batchSize: number;
  readonly #maxInFlight: number;
  readonly #pending = new Set<string>();
  readonly #inFlight = new Set<string>();
  readonly #rotateAt = new Map<string, number>();
  /** Entry id → the revision the server refused; not asked again until the entry changes. */
  readonly #refused = new Map<string, number>();
  readonly #waiting: (() => void)[] = [];
  readonly #retry = new Backoff(500, 30_000);
  #running = 0;
  #flushQueued = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(o: SvidMinterOptions) {
    this.#o = o;
    this.#batchSize = Math.min(1000, o.batchSize ?? 250);
    this.#maxInFlight = o.maxInFlight ?? 4;
  }

  /** Entries waiting for or being minted. */
  get outstanding(): number {
    return this.#pending.size + this.#inFlight.size;
  }

  /** Entries that were added, changed or re-sent: those without a current SVID are minted. */
  consider(entryIds: Iterable<string>): void {
    for (const id of entryIds) this.#pending.add(id);
    this.#queueFlush();
  }

  /** A full set arrived: what the server refused before may be asked again. */
  forgetRefusals(): void {
    this.#refused.clear();
  }

  /** Entries that are gone. */
  forget(entryIds: Iterable<string>): void {
    for (const id of entryIds) {
      this.#pending.delete(id);
      this.#rotateAt.delete(id);
      this.#refused.delete(id);
    }
  }

  /** The server is back (a stream reconnected): retry now rather than when the backoff ends. */
  retryNow(): void {
    this.#retry.reset();
    if (this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#queueFlush();
  }

  stop(): void {
    this.#stopped = true;
    for (const t of [this.#timer, this.#retryTimer]) if (t !== undefined) clearTimeout(t);
    this.#timer = this.#retryTimer = undefined;
    for (const wake of this.#waiting.splice(0)) wake();
  }

  #needsMint(entry: SyncedEntry | undefined, now: number): entry is SyncedEntry {
    if (entry === undefined || this.#inFlight.has(entry.id) || this.#refused.get(entry.id) === entry.revision) return false;
    const svid = this.#o.cache.svid(entry.id);
    return svid === undefined || svid.revision !== entry.revision || now + ROTATION_WINDOW_MS >= (this.#rotateAt.get(entry.id) ?? 0);
  }

  #queueFlush(): void {
    if (this.#flushQueued || this.#stopped) return;
    this.#flushQueued = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushQueued = false;
    // While backing off, the retry timer flushes everything pending at once.
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const now = this.#now();
    const due: SyncedEntry[] = [];
    for (const id of this.#pending) {
      const entry = this.#o.cache.entry(id);
      if (this.#needsMint(entry, now)) due.push(entry);
    }
    this.#pending.clear();
    if (due.length === 0) return;
    for (const e of due) this.#inFlight.add(e.id);
    const release = this.#o.cache.holdFlushes();
    const batches = Math.ceil(due.length / this.#batchSize);
    // Even batches: 1,001 entries as 4 × 250 + 1 would leave one call to wait for nothing.
    const size = Math.ceil(due.length / batches);
    let left = batches;
    for (let i = 0; i < due.length; i += size) {
      this.#slot(() => this.#mintBatch(due.slice(i, i + size)))
        .catch((err: unknown) => this.#o.logger.error({ err: messageOf(err) }, 'svid: a mint batch failed unexpectedly'))
        .finally(() => {
          if (--left === 0) release();
        });
    }
  }

  /** Runs `job` when fewer than maxInFlight are running. */
  async #slot(job: () => Promise<void>): Promise<void> {
    while (this.#running >= this.#maxInFlight && !this.#stopped) await new Promise<void>((wake) => this.#waiting.push(wake));
    this.#running++;
    try {
      await job();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  async #mintBatch(entries: SyncedEntry[]): Promise<void> {
    if (this.#stopped) return;
    const startedAt = this.#now();
    let response: MintX509SvidsResponseMessage;
    let keys: Buffer[];
    try {
      const generated = await Promise.all(entries.map(() => generateWorkloadKey(this.#o.keyType)));
      keys = generated.map((k) => k.pkcs8);
      const requests = entries.map((e, i) => ({ entry_id: e.id, csr: buildCsr(generated[i]!) }));
      response = await this.#o.mint(requests);
    } catch (err) {
      for (const e of entries) this.#inFlight.delete(e.id);
      this.#o.onCallResult(err);
      this.#backOff(entries.map((e) => e.id), err);
      return;
    }
    this.#o.onCallResult(undefined);
    this.#retry.reset();
    const minted: MintedSvid[] = [];
    const failed: string[] = [];
    entries.forEach((entry, i) => {
      this.#inFlight.delete(entry.id);
      const r = response.results[i];
      if (r === undefined || r.entry_id !== entry.id) {
        failed.push(entry.id);
      } else if (r.error !== null && r.error !== undefined) {
        this.#refusedResult(entry, r.error, failed);
      } else {
        minted.push({
          entryId: entry.id, revision: entry.revision, spiffeId: entry.spiffeId, certChainDer: Buffer.concat(r.svid_chain),
          privateKeyDer: keys[i]!, expiresAt: Number(r.expires_at), mintedAtMs: startedAt,
        });
      }
    });
    this.#o.cache.putSvids(minted);
    for (const s of minted) {
      if (this.#o.cache.entry(s.entryId) !== undefined) this.#rotateAt.set(s.entryId, rotationTimeMs(startedAt, s.expiresAt * 1000));
    }
    this.#o.logger.debug({ minted: minted.length, failed: failed.length, ms: this.#now() - startedAt }, 'svid: minted a batch of X.509-SVIDs');
    if (failed.length > 0) this.#backOff(failed, new Error(`${failed.length} SVIDs could not be minted`));
    // An entry updated while its CSR was out needs the SVID of its new revision.
    this.consider(entries.map((e) => e.id));
    this.#arm();
  }

  #refusedResult(entry: SyncedEntry, error: { code: number; message: string }, failed: string[]): void {
    if (error.code === Status.NOT_FOUND || error.code === Status.PERMISSION_DENIED) {
      // Usually an entry removed on the server a moment ago: its removal is on its way down the sync stream.
      this.#refused.set(entry.id, entry.revision);
      this.#o.logger.warn({ entryId: entry.id, spiffeId: entry.spiffeId, err: error.message }, 'svid: the server refused an X.509-SVID');
      return;
    }
    this.#o.logger.warn({ entryId: entry.id, code: error.code, err: error.message }, 'svid: minting an X.509-SVID failed; retrying');
    failed.push(entry.id);
  }

  #backOff(entryIds: string[], err: unknown): void {
    for (const id of entryIds) this.#pending.add(id);
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const delay = this.#retry.next();
    this.#o.logger.warn({ entries: entryIds.length, retryInMs: delay, err: messageOf(err) }, 'svid: minting failed; retrying');
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#queueFlush();
    }, delay);
  }

  /** One timer for the earliest rotation or expiry to come. */
  #arm(): void {
    if (this.#stopped) return;
    const now = this.#now();
    let next = Infinity;
    for (const at of this.#rotateAt.values()) if (at > now && at < next) next = at;
    for (const s of this.#o.cache.svids()) if (s.expiresAt * 1000 > now && s.expiresAt * 1000 < next) next = s.expiresAt * 1000;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (next === Infinity) return;
    this.#timer = setTimeout(() => this.#tick(), Math.min(MAX_TIMER_MS, Math.max(0, next - now)));
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    const now = this.#now();
    const expired: string[] = [];
    for (const s of this.#o.cache.svids()) if (s.expiresAt * 1000 <= now) expired.push(s.entryId);
    if (expired.length > 0) {
      this.#o.logger.warn({ expired: expired.length }, 'svid: X.509-SVIDs expired before they could be renewed; no longer serving them');
      this.#o.cache.dropSvids(expired);
    }
    const due: string[] = [];
    for (const [id, at] of this.#rotateAt) if (at <= now + ROTATION_WINDOW_MS) due.push(id);
    if (due.length > 0) {
      this.#o.logger.debug({ rotating: due.length }, 'svid: rotating X.509-SVIDs at half-life');
      this.consider(due);
    }
    this.#arm();
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }
}
