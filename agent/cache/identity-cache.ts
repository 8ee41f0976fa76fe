/**
 * The agent's identity cache: every entry the server pushed, the X.509-SVID minted for each, and
 * the trust bundle, served to the Workload API and SDS through WorkloadView.
 *
 * - Matching: identities are indexed by selector (selector-index.ts); a caller's identities are
 *   found from its own selectors' posting lists, not by scanning every entry.
 * - Sharing: callers with the same selector set share one Group and so one immutable snapshot
 *   object; the servers can encode a response once per snapshot, whatever the number of callers.
 * - Coalescing: changes only mark what they touch; one flush (setImmediate) recomputes the groups
 *   they concern and notifies each changed group once. While SVIDs are being minted in bulk the
 *   minter holds flushes (holdFlushes), so a burst of 1,000 SVIDs reaches a stream as one or a few
 *   full sets rather than one per batch, at most `maxHoldMs` late. Losses — an entry removed, a
 *   selector change, an expiry — and bundle changes are never held.
 * - Never evicting: an identity leaves only when its entry does or its SVID expires; memory is one
 *   Identity per entry (the certificate chain and key DER, ~1–3 KB) plus the shared snapshots.
 */
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { messageOf } from '../../spiffe/errors.js';
import type { Logger } from '../logger.js';
import { bundleView, emptyBundleView, sameBundleView } from './bundles.js';
import { selectorKey, selectorSetKey, type MintedSvid, type SyncedEntry } from './entry.js';
import { CacheError, CacheErrorCode } from './errors.js';
import type { JwtSvid, JwtSvidCache } from './jwt-cache.js';
import { isSubset, SelectorIndex } from './selector-index.js';
import { computeSnapshot } from './snapshot.js';
import { FlushScheduler } from './flush-scheduler.js';
import type { BundleView, Identity, IdentitySnapshot, Selector, Subscription, WorkloadView } from './workload-view.js';

export interface HealthState {
  ready: boolean;
  live: boolean;
  detail: string;
}

export interface IdentityCacheOptions {
  trustDomain: string;
  logger: Logger;
  jwt: Pick<JwtSvidCache, 'fetch' | 'retain'>;
  health: () => HealthState;
  /** How long a held flush may wait for a minting burst to end (default 500 ms). */
  maxHoldMs?: number;
  now?: () => number;
}

interface Group {
  readonly keys: ReadonlySet<string>;
  snapshot: IdentitySnapshot;
  /** The cache version `snapshot` was last checked at (it keeps an older version when unchanged). */
  at: number;
  readonly listeners: Set<(snapshot: IdentitySnapshot) => void>;
}

/** Unsubscribed groups kept for unary calls before they are dropped all at once. */
const MAX_IDLE_GROUPS = 1024;

export class IdentityCache implements WorkloadView {
  readonly #o: IdentityCacheOptions;
  readonly #entries = new Map<string, SyncedEntry>();
  readonly #svids = new Map<string, MintedSvid>();
  readonly #identities = new Map<string, Identity>();
  readonly #index = new SelectorIndex();
  readonly #groups = new Map<string, Group>();
  readonly #bundleListeners = new Set<() => void>();
  #bundle: BundleView;
  /** Federated bundles: none until the server's agent API delivers them. */
  #federated: ReadonlyMap<string, BundleView> = new Map();
  #version = 0;
  /** Selector-key lists of identities changed since the last flush (deduplicated by set key). */
  #changed = new Map<string, readonly string[]>();
  #changedAll = false;
  #bundleChanged = false;
  /** Some identity left since the last flush: JWT-SVIDs for it are forgotten then. */
  #dropped = false;
  readonly #flusher: FlushScheduler;

  constructor(o: IdentityCacheOptions) {
    this.#o = o;
    this.#flusher = new FlushScheduler(() => this.#flush(), o.maxHoldMs ?? 500);
    this.#bundle = emptyBundleView(o.trustDomain);
  }

  // ---- WorkloadView ----

  subscribe(selectors: Selector[], onUpdate: (snapshot: IdentitySnapshot) => void): Subscription {
    const group = this.#group(selectors);
    group.listeners.add(onUpdate);
    return {
      snapshot: group.snapshot,
      unsubscribe: () => {
        group.listeners.delete(onUpdate);
      },
    };
  }

  snapshot(selectors: Selector[]): IdentitySnapshot {
    return this.#group(selectors).snapshot;
  }

  bundles(): { own: BundleView; federated: ReadonlyMap<string, BundleView> } {
    return { own: this.#bundle, federated: this.#federated };
  }

  onBundlesChange(listener: () => void): () => void {
    this.#bundleListeners.add(listener);
    return () => {
      this.#bundleListeners.delete(listener);
    };
  }

  async fetchJwtSvid(identity: Identity, audience: string[]): Promise<JwtSvid> {
    const held = this.#identities.get(identity.entryId);
    if (held === undefined || held.spiffeId !== identity.spiffeId) {
      throw new CacheError(CacheErrorCode.noIdentity, `no identity ${identity.spiffeId} is held for entry ${identity.entryId}`);
    }
    return this.#o.jwt.fetch(held, audience);
  }

  health(): HealthState {
    return this.#o.health();
  }

  // ---- what sync and the minter change ----

  get version(): number {
    return this.#version;
  }

  entry(id: string): SyncedEntry | undefined {
    return this.#entries.get(id);
  }

  entries(): IterableIterator<SyncedEntry> {
    return this.#entries.values();
  }

  svid(entryId: string): MintedSvid | undefined {
    return this.#svids.get(entryId);
  }

  svids(): IterableIterator<MintedSvid> {
    return this.#svids.values();
  }

  get identityCount(): number {
    return this.#identities.size;
  }

  /** Entries added or changed, and ids removed (unknown ids are ignored). */
  applyEntries(upserted: readonly SyncedEntry[], removedIds: readonly string[]): void {
    for (const id of removedIds) this.#removeEntry(id);
    for (const e of upserted) {
      const before = this.#entries.get(e.id);
      this.#entries.set(e.id, e);
      // Sent again unchanged (a full set after a reconnect): callers must not be pushed anything.
      if (before !== undefined && before.revision === e.revision && before.createdAt === e.createdAt) continue;
      const svid = this.#svids.get(e.id);
      if (svid === undefined) continue;
      const lost = before !== undefined && selectorSetKey(before.selectors) !== selectorSetKey(e.selectors);
      this.#setIdentity(e, svid, lost, before);
    }
  }

  /** The full set: anything not in it is gone. */
  replaceEntries(all: readonly SyncedEntry[]): void {
    const keep = new Set(all.map((e) => e.id));
    this.applyEntries(all, [...this.#entries.keys()].filter((id) => !keep.has(id)));
  }

  /** Newly minted SVIDs; those for entries removed meanwhile are dropped. Returns how many were kept. */
  putSvids(svids: readonly MintedSvid[]): number {
    let kept = 0;
    for (const svid of svids) {
      const entry = this.#entries.get(svid.entryId);
      if (entry === undefined) continue;
      this.#svids.set(svid.entryId, svid);
      this.#setIdentity(entry, svid, false, entry);
      kept++;
    }
    return kept;
  }

  /** Expired SVIDs: their identities stop being served at once. */
  dropSvids(entryIds: readonly string[]): void {
    for (const id of entryIds) {
      if (!this.#svids.delete(id)) continue;
      this.#dropIdentity(id);
    }
  }

  setBundle(bundle: SpiffeBundle): void {
    const view = bundleView(bundle);
    if (sameBundleView(view, this.#bundle)) return;
    this.#bundle = view;
    this.#bundleChanged = true;
    this.#changedAll = true;
    this.#version++;
    this.#flusher.changed(true);
  }

  /**
   * Defers flushes of gains (new and rotated SVIDs) until every hold is released or `maxHoldMs`
   * has passed since the first deferred change; returns the release.
   */
  holdFlushes(): () => void {
    return this.#flusher.hold();
  }

  close(): void {
    this.#flusher.close();
  }

  // ---- internals ----

  #removeEntry(id: string): void {
    if (!this.#entries.delete(id)) return;
    this.#svids.delete(id);
    this.#dropIdentity(id);
  }

  #dropIdentity(id: string): void {
    const identity = this.#identities.get(id);
    if (identity === undefined) return;
    this.#identities.delete(id);
    this.#index.delete(id);
    this.#dropped = true;
    this.#markChanged(identity.selectors, true);
  }

  /** `lost`: some callers may no longer be entitled to it, so the change is not held. */
  #setIdentity(entry: SyncedEntry, svid: MintedSvid, lost: boolean, before: SyncedEntry | undefined): void {
    const identity: Identity = Object.freeze({
      entryId: entry.id,
      // What the certificate names, until the re-mint for a changed SPIFFE ID lands.
      spiffeId: svid.spiffeId,
      hint: entry.hint,
      createdAt: entry.createdAt,
      selectors: entry.selectors.map((s) => ({ type: s.type, value: s.value })),
      federatesWith: [...entry.federatesWith],
      certChainDer: svid.certChainDer,
      privateKeyDer: svid.privateKeyDer,
      expiresAt: svid.expiresAt,
    });
    this.#identities.set(entry.id, identity);
    this.#index.set(entry.id, identity.selectors);
    if (before !== undefined && before !== entry) this.#markChanged(before.selectors, lost);
    this.#markChanged(identity.selectors, lost);
  }

  #markChanged(selectors: readonly Selector[], urgent: boolean): void {
    this.#version++;
    const key = selectorSetKey(selectors);
    if (!this.#changed.has(key)) this.#changed.set(key, key === '' ? [] : key.split('\n'));
    this.#flusher.changed(urgent);
  }

  #flush(): void {
    const all = this.#changedAll;
    const changed = [...this.#changed.values()];
    const bundleChanged = this.#bundleChanged;
    this.#changed = new Map();
    this.#changedAll = false;
    this.#bundleChanged = false;
    for (const [key, group] of this.#groups) {
      if (!all && !changed.some((keys) => isSubset(keys, group.keys))) continue;
      if (group.listeners.size === 0) {
        // Recomputed on its next unary call, if there is one.
        this.#groups.delete(key);
        continue;
      }
      const next = this.#compute(group.keys, group.snapshot);
      group.at = this.#version;
      if (next === group.snapshot) continue;
      group.snapshot = next;
      for (const listener of [...group.listeners]) this.#call(() => listener(next), 'a snapshot subscriber');
    }
    if (this.#dropped) {
      this.#dropped = false;
      this.#o.jwt.retain(new Set([...this.#identities.values()].map((i) => i.spiffeId)));
    }
    if (bundleChanged) for (const listener of [...this.#bundleListeners]) this.#call(listener, 'a bundle listener');
  }

  #call(fn: () => void, what: string): void {
    try {
      fn();
    } catch (err) {
      // A subscriber's failure is its own; the others must still hear of the change.
      this.#o.logger.error({ err: messageOf(err) }, `cache: ${what} threw`);
    }
  }

  #group(selectors: readonly Selector[]): Group {
    const key = selectorSetKey(selectors);
    let group = this.#groups.get(key);
    if (group !== undefined) {
      // An idle group may have missed changes not yet flushed: bring it up to date (sharing if equal).
      if (group.listeners.size === 0 && group.at !== this.#version) {
        group.snapshot = this.#compute(group.keys, group.snapshot);
        group.at = this.#version;
      }
      return group;
    }
    if (this.#groups.size >= MAX_IDLE_GROUPS) {
      for (const [k, g] of this.#groups) if (g.listeners.size === 0) this.#groups.delete(k);
    }
    const keys = new Set(selectors.map(selectorKey));
    group = { keys, snapshot: this.#compute(keys, undefined), at: this.#version, listeners: new Set() };
    this.#groups.set(key, group);
    return group;
  }

  /** The snapshot for `keys` now; `previous` itself when nothing the caller sees has changed. */
  #compute(keys: ReadonlySet<string>, previous: IdentitySnapshot | undefined): IdentitySnapshot {
    const matched: Identity[] = [];
    for (const id of this.#index.match(keys)) {
      const identity = this.#identities.get(id);
      if (identity !== undefined) matched.push(identity);
    }
    const nowSeconds = (this.#o.now?.() ?? Date.now()) / 1000;
    return computeSnapshot({ matched, nowSeconds, version: this.#version, bundle: this.#bundle, federated: this.#federated }, previous);
  }
}
