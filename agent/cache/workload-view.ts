/**
 * What the agent's workload-facing servers (the SPIFFE Workload API and Envoy SDS) need from the
 * agent's cache, and nothing more. The cache implements it; the servers take it as a dependency,
 * so they can be tested with a fake and never learn how identities are synced or minted.
 */

export interface Selector {
  type: string;
  value: string;
}

/** One X.509-SVID the agent holds for one registration entry. */
export interface Identity {
  entryId: string;
  spiffeId: string;
  /** Operator-chosen label passed to workloads ("" when none). */
  hint: string;
  /** Entry creation time (unix s): the first-ordering key, as SPIRE orders identities. */
  createdAt: number;
  /** The entry's selectors; a caller gets the identity when these ⊆ its own selectors. */
  selectors: Selector[];
  /** Trust domain names whose bundles a holder of this identity also receives. */
  federatesWith: string[];
  /** Concatenated DER certificates, leaf first (the Workload API encoding). */
  certChainDer: Buffer;
  /** Unencrypted PKCS#8 DER private key, generated on this node. */
  privateKeyDer: Buffer;
  /** Unix seconds. */
  expiresAt: number;
}

/** A trust domain's bundle in both forms the workload APIs serve. */
export interface BundleView {
  trustDomain: string;
  /** Concatenated DER CA certificates. */
  x509Der: Buffer;
  /** JWKS JSON with only the JWT-SVID keys (what JWTBundlesResponse carries). */
  jwksJson: Buffer;
}

/**
 * Everything a caller with a given selector set is entitled to, at one moment. Immutable: a change
 * produces a new snapshot with a higher `version`.
 */
export interface IdentitySnapshot {
  /** Increases on every change the cache makes (any caller's), so equal versions mean equal state. */
  version: number;
  /**
   * The caller's identities, ordered deterministically: entry createdAt, then entry id. Identities
   * with the same hint are deduplicated (the first wins), as SPIRE does.
   */
  identities: Identity[];
  /** The agent's own trust domain bundle. */
  bundle: BundleView;
  /** Bundles of the trust domains the caller's identities federate with, by trust domain name. */
  federatedBundles: ReadonlyMap<string, BundleView>;
}

export interface Subscription {
  /** The state at subscription time (identities may be empty: nothing matches yet). */
  readonly snapshot: IdentitySnapshot;
  unsubscribe(): void;
}

export interface WorkloadView {
  /**
   * Subscribes a caller by its attested selectors. `onUpdate` is called (coalesced: at most once per
   * burst of changes) whenever what this caller is entitled to changes, including identities
   * appearing for a caller that had none, rotation, entry removal and bundle changes.
   */
  subscribe(selectors: Selector[], onUpdate: (snapshot: IdentitySnapshot) => void): Subscription;
  /** The current state for a caller, for unary calls. */
  snapshot(selectors: Selector[]): IdentitySnapshot;
  /** Every bundle the agent knows (own first, then federated), for FetchX509Bundles/FetchJWTBundles. */
  bundles(): { own: BundleView; federated: ReadonlyMap<string, BundleView> };
  /** Subscribe to bundle changes only. */
  onBundlesChange(listener: () => void): () => void;
  /**
   * A JWT-SVID for one of the caller's identities (minted by the server on demand, cached per
   * SPIFFE ID + audience set, refreshed at half-life). Throws a SigilError (PermissionDenied when the
   * caller does not hold that identity, Unavailable when the server cannot be reached and nothing is
   * cached).
   */
  fetchJwtSvid(identity: Identity, audience: string[]): Promise<{ token: string; expiresAt: number }>;
  /** Whether the agent is ready to serve (attested, first sync done) and, if not, why. */
  health(): { ready: boolean; live: boolean; detail: string };
}
