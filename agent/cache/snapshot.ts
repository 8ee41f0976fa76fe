/**
 * One caller's snapshot from the cache's state: matched identities that have not expired, ordered
 * as SPIRE orders them (entry creation time, then entry id), with same-hint duplicates dropped
 * (the first wins), plus the bundles they need. Returns `previous` itself when nothing the caller
 * sees differs, so an unchanged caller is neither notified nor re-encoded.
 */
import type { BundleView, Identity, IdentitySnapshot } from './workload-view.js';

export interface SnapshotInput {
  matched: Iterable<Identity>;
  nowSeconds: number;
  version: number;
  bundle: BundleView;
  /** Every federated bundle the agent knows, by trust domain name. */
  federated: ReadonlyMap<string, BundleView>;
}

const NO_FEDERATED: ReadonlyMap<string, BundleView> = new Map();

export function computeSnapshot(input: SnapshotInput, previous: IdentitySnapshot | undefined): IdentitySnapshot {
  const live: Identity[] = [];
  for (const i of input.matched) if (i.expiresAt > input.nowSeconds) live.push(i);
  live.sort((a, b) => a.createdAt - b.createdAt || (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
  const hints = new Set<string>();
  const identities = live.filter((i) => {
    if (i.hint === '') return true;
    if (hints.has(i.hint)) return false;
    hints.add(i.hint);
    return true;
  });
  const federated = federatedFor(identities, input.federated);
  if (
    previous !== undefined &&
    previous.bundle === input.bundle &&
    sameMap(previous.federatedBundles, federated) &&
    previous.identities.length === identities.length &&
    previous.identities.every((i, n) => i === identities[n])
  ) {
    return previous;
  }
  return Object.freeze({
    version: input.version,
    identities: Object.freeze(identities) as Identity[],
    bundle: input.bundle,
    federatedBundles: federated,
  });
}

function federatedFor(identities: readonly Identity[], known: ReadonlyMap<string, BundleView>): ReadonlyMap<string, BundleView> {
  if (known.size === 0) return NO_FEDERATED;
  const out = new Map<string, BundleView>();
  for (const i of identities) {
    for (const td of i.federatesWith) {
      const b = known.get(td);
      if (b !== undefined) out.set(td, b);
    }
  }
  return out.size === 0 ? NO_FEDERATED : out;
}

function sameMap<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): boolean {
  if (a === b) return true;
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
