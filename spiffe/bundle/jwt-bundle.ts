import type { KeyObject } from 'node:crypto';
import type { TrustDomain } from '../spiffeid/index.js';
import { bundleNotFound } from './errors.js';
import { KeyAuthorities, marshalKeySet, parseKeySet, type KeyAuthorityEntries } from './key-authorities.js';
import type { JwtAuthorities, JwtBundleSource } from './source.js';

/** The JWT-SVID signing keys of one trust domain, by key ID. */
export class JwtBundle implements JwtAuthorities, JwtBundleSource {
  readonly trustDomain: TrustDomain;
  #authorities: KeyAuthorities;

  /** Each key must be a public EC (P-256/384/521), RSA or Ed25519 key under a non-empty key ID. */
  constructor(trustDomain: TrustDomain, authorities: KeyAuthorityEntries = []) {
    this.trustDomain = trustDomain;
    this.#authorities = new KeyAuthorities('jwtbundle', 'JWT authority', authorities);
  }

  /**
   * A plain RFC 7517 JWK set (the Workload API's JWTBundlesResponse value): `use` is ignored, every
   * key needs a `kid`, and an absent `keys` member is an empty bundle, as in go-spiffe.
   */
  static parse(trustDomain: TrustDomain, jwks: string | Uint8Array): JwtBundle {
    const bundle = new JwtBundle(trustDomain);
    bundle.#authorities = parseKeySet('jwtbundle', 'JWT authority', jwks);
    return bundle;
  }

  /** A copy, sorted by key ID. */
  jwtAuthorities(): ReadonlyMap<string, KeyObject> {
    return this.#authorities.toMap();
  }

  findJwtAuthority(keyId: string): KeyObject | undefined {
    return this.#authorities.get(keyId);
  }

  hasJwtAuthority(keyId: string): boolean {
    return this.#authorities.has(keyId);
  }

  /** Replaces the key already under `keyId`, if any. */
  addJwtAuthority(keyId: string, key: KeyObject): void {
    this.#authorities.set(keyId, key);
  }

  removeJwtAuthority(keyId: string): boolean {
    return this.#authorities.delete(keyId);
  }

  setJwtAuthorities(authorities: KeyAuthorityEntries): void {
    this.#authorities = new KeyAuthorities('jwtbundle', 'JWT authority', authorities);
  }

  isEmpty(): boolean {
    return this.#authorities.size === 0;
  }

  /** JWKS JSON with `kid` on each key, sorted by kid so equal bundles give equal bytes. */
  marshal(): string {
    return marshalKeySet(this.#authorities);
  }

  equals(other: JwtBundle): boolean {
    return this.trustDomain.equals(other.trustDomain) && this.#authorities.equals(other.#authorities);
  }

  clone(): JwtBundle {
    return new JwtBundle(this.trustDomain, this.#authorities.sorted());
  }

  getJwtBundleForTrustDomain(td: TrustDomain): JwtBundle {
    if (!this.trustDomain.equals(td)) {
      throw bundleNotFound('jwtbundle', `no JWT bundle for trust domain ${JSON.stringify(td.name)}`);
    }
    return this;
  }
}
