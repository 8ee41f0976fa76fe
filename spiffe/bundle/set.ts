import { JsonParseError, parseJson, stringifyJson, type JsonObject, type JsonValue } from '../internal/json.js';
import { Rule, SpiffeIdError, TrustDomain } from '../spiffeid/index.js';
import { BundleError, bundleNotFound, invalidBundle } from './errors.js';
import { isJsonObject } from './jwk.js';
import type { JwtAuthorities, JwtBundleSource, WitAuthorities, WitBundleSource, X509Authorities, X509BundleSource } from './source.js';
import { spiffeBundleDocument, type SpiffeBundleParseOptions } from './spiffe-bundle-json.js';
import { SpiffeBundle, type SpiffeBundleSource } from './spiffe-bundle.js';

const M = 'spiffebundle';

/**
 * SPIFFE bundles keyed by trust domain: the trust store of a verifier that accepts SVIDs from its
 * own and federated trust domains. Lookups never fall back to another trust domain's bundle (the
 * Federation spec forbids merging), so a missing bundle is a NOT_FOUND error naming the domain.
 */
export class BundleSet implements X509BundleSource, JwtBundleSource, WitBundleSource, SpiffeBundleSource {
  readonly #bundles = new Map<string, SpiffeBundle>();

  constructor(bundles: Iterable<SpiffeBundle> = []) {
    for (const b of bundles) this.add(b);
  }

  /**
   * A SPIFFE bundle map, `{"trust_domains": {"<name>": <bundle>, …}}` (bundle spec section 5).
   * Duplicate trust domain names are rejected, as are keys that are not bare trust domain names.
   * Per-bundle refresh hints are kept as read; the spec says they must not drive refreshing.
   */
  static parseBundleMap(json: string | Uint8Array, options: SpiffeBundleParseOptions = {}): BundleSet {
    let doc: JsonValue;
    try {
      doc = parseJson(json);
    } catch (err) {
      if (err instanceof JsonParseError) throw invalidBundle(M, `unable to parse bundle map: ${err.message}`, err);
      throw err;
    }
    if (!isJsonObject(doc)) throw invalidBundle(M, 'unable to parse bundle map: document must be a JSON object');
    const domains = doc['trust_domains'];
    if (!isJsonObject(domains)) {
      throw invalidBundle(M, 'unable to parse bundle map: "trust_domains" must be present and be a JSON object');
    }
    const set = new BundleSet();
    for (const name of Object.keys(domains)) {
      const td = bundleMapTrustDomain(name);
      try {
        set.add(SpiffeBundle.fromDocument(td, domains[name] ?? null, options));
      } catch (err) {
        if (err instanceof BundleError) {
          throw invalidBundle(M, `bundle for trust domain ${JSON.stringify(name)}: ${err.detail}`, err);
        }
        throw err;
      }
    }
    return set;
  }

  /** Replaces the bundle already held for the same trust domain. */
  add(bundle: SpiffeBundle): void {
    this.#bundles.set(bundle.trustDomain.name, bundle);
  }

  remove(td: TrustDomain): boolean {
    return this.#bundles.delete(td.name);
  }

  has(td: TrustDomain): boolean {
    return this.#bundles.has(td.name);
  }

  get(td: TrustDomain): SpiffeBundle | undefined {
    return this.#bundles.get(td.name);
  }

  /** Sorted by trust domain name. */
  list(): SpiffeBundle[] {
    return [...this.#bundles.values()].sort((a, b) => a.trustDomain.compare(b.trustDomain));
  }

  get size(): number {
    return this.#bundles.size;
  }

  /**
   * The bundle map document, trust domains sorted by name. Per-bundle refresh hints are left out,
   * as the spec asks of producers.
   */
  marshalBundleMap(options: { indent?: number } = {}): string {
    const domains: Record<string, JsonObject> = {};
    for (const b of this.list()) domains[b.trustDomain.name] = spiffeBundleDocument(b, { omitRefreshHint: true });
    return stringifyJson({ trust_domains: domains }, options);
  }

  getBundleForTrustDomain(td: TrustDomain): SpiffeBundle {
    return this.#find(td, 'SPIFFE');
  }

  getX509BundleForTrustDomain(td: TrustDomain): X509Authorities {
    return this.#find(td, 'X.509');
  }

  getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
    return this.#find(td, 'JWT');
  }

  getWitBundleForTrustDomain(td: TrustDomain): WitAuthorities {
    return this.#find(td, 'WIT');
  }

  /** go-spiffe's spiffebundle.Set wording: `spiffebundle: no X.509 bundle for trust domain "td"`. */
  #find(td: TrustDomain, kind: string): SpiffeBundle {
    const b = this.#bundles.get(td.name);
    if (b === undefined) throw bundleNotFound(M, `no ${kind} bundle for trust domain ${JSON.stringify(td.name)}`);
    return b;
  }
}

/** Bundle map keys are trust domain names; a `spiffe://` form would let two keys name one domain. */
function bundleMapTrustDomain(name: string): TrustDomain {
  try {
    if (name.includes(':')) throw new SpiffeIdError(Rule.badTrustDomainChar);
    return TrustDomain.fromString(name);
  } catch (err) {
    if (err instanceof SpiffeIdError) {
      throw invalidBundle(M, `unable to parse bundle map: invalid trust domain ${JSON.stringify(name)}: ${err.message}`, err);
    }
    throw err;
  }
}
