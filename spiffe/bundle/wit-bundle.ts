import type { KeyObject } from 'node:crypto';
import type { TrustDomain } from '../spiffeid/index.js';
import { bundleNotFound } from './errors.js';
import { KeyAuthorities, marshalKeySet, parseKeySet, type KeyAuthorityEntries } from './key-authorities.js';
import type { WitAuthorities, WitBundleSource } from './source.js';

/**
 * The WIT-SVID signing keys of one trust domain (WIT-SVID is incubating; go-spiffe keeps this under
 * exp/). Same shape and rules as JwtBundle; the WITBundlesResponse carries `marshal()` as a string.
 */
export class WitBundle implements WitAuthorities, WitBundleSource {
  readonly trustDomain: TrustDomain;
  #authorities: KeyAuthorities;

  constructor(trustDomain: TrustDomain, authorities: KeyAuthorityEntries = []) {
    this.trustDomain = trustDomain;
    this.#authorities = new KeyAuthorities('witbundle', 'WIT authority', authorities);
  }

  /** A plain JWK set: `use` ignored, `kid` required on every key. */
  static parse(trustDomain: TrustDomain, jwks: string | Uint8Array): WitBundle {
    const bundle = new WitBundle(trustDomain);
    bundle.#authorities = parseKeySet('witbundle', 'WIT authority', jwks);
    return bundle;
  }

  witAuthorities(): ReadonlyMap<string, KeyObject> {
    return this.#authorities.toMap();
  }

  findWitAuthority(keyId: string): KeyObject | undefined {
    return this.#authorities.get(keyId);
  }

  hasWitAuthority(keyId: string): boolean {
    return this.#authorities.has(keyId);
  }

  addWitAuthority(keyId: string, key: KeyObject): void {
    this.#authorities.set(keyId, key);
  }

  removeWitAuthority(keyId: string): boolean {
    return this.#authorities.delete(keyId);
  }

  setWitAuthorities(authorities: KeyAuthorityEntries): void {
    this.#authorities = new KeyAuthorities('witbundle', 'WIT authority', authorities);
  }

  isEmpty(): boolean {
    return this.#authorities.size === 0;
  }

  marshal(): string {
    return marshalKeySet(this.#authorities);
  }

  equals(other: WitBundle): boolean {
    return this.trustDomain.equals(other.trustDomain) && this.#authorities.equals(other.#authorities);
  }

  clone(): WitBundle {
    return new WitBundle(this.trustDomain, this.#authorities.sorted());
  }

  getWitBundleForTrustDomain(td: TrustDomain): WitBundle {
    if (!this.trustDomain.equals(td)) {
      throw bundleNotFound('witbundle', `no WIT bundle for trust domain ${JSON.stringify(td.name)}`);
    }
    return this;
  }
}
