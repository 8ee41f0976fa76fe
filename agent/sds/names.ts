/**
 * What an SDS resource name means for one caller, by SPIRE's rules: `default` is the caller's first
 * SVID (entry order), a SPIFFE ID the caller holds is that SVID, `ROOTCA` and the agent's trust
 * domain ID (`spiffe://example.org`) are the own bundle, a federated trust domain ID is that bundle
 * when the caller's entries federate with it, and `ALL` is one validation context with every bundle
 * the caller may use. Aliases are the configured ones (settings.ts).
 *
 * Each name is resolved on its own, so a request may ask for both `ROOTCA` and the trust domain ID
 * (SPIRE's switch serves only one of them and refuses the other). A caller holding no identity gets
 * nothing at all: SDS delivers what a proxy needs to present its workload's identity, and bundles
 * alone are the Workload API's FetchX509Bundles.
 */
import type { BundleView, Identity, IdentitySnapshot } from '../cache/workload-view.js';
import { entitledBundles, trustDomainKey } from '../workloadapi/encode.js';
import type { SdsSettings } from './settings.js';

export type SecretSource =
  | { kind: 'certificate'; identity: Identity }
  /** `all`: the ALL context, which only the SPIFFE validator can carry safely. */
  | { kind: 'bundles'; bundles: BundleView[]; all: boolean };

export function resolveName(name: string, snap: IdentitySnapshot, settings: SdsSettings): SecretSource | undefined {
  if (snap.identities.length === 0) return undefined;
  if (name === trustDomainKey(snap.bundle.trustDomain) || name === settings.defaultBundleName) {
    return { kind: 'bundles', bundles: [snap.bundle], all: false };
  }
  if (name === settings.defaultAllBundlesName) return { kind: 'bundles', bundles: entitledBundles(snap), all: true };
  if (name === settings.defaultSvidName) return { kind: 'certificate', identity: snap.identities[0]! };
  const identity = snap.identities.find((i) => i.spiffeId === name);
  if (identity !== undefined) return { kind: 'certificate', identity };
  for (const b of snap.federatedBundles.values()) {
    if (trustDomainKey(b.trustDomain) === name) return { kind: 'bundles', bundles: [b], all: false };
  }
  return undefined;
}

/**
 * What an empty name list stands for (SPIRE: everything the caller may have): the own and federated
 * trust domain IDs, then each SPIFFE ID held, by canonical name only (no aliases).
 */
export function wildcardNames(snap: IdentitySnapshot): string[] {
  if (snap.identities.length === 0) return [];
  const names = entitledBundles(snap).map((b) => trustDomainKey(b.trustDomain));
  for (const i of snap.identities) if (!names.includes(i.spiffeId)) names.push(i.spiffeId);
  return names;
}
