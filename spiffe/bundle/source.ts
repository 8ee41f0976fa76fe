/**
 * What SVID verification needs from bundles, as one-method interfaces (go-spiffe's Source
 * pattern): verification code takes a Source and never learns whether the authorities came from a
 * static bundle, a bundle set or a live Workload API stream.
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { TrustDomain } from '../spiffeid/index.js';

/** The X.509 authorities (CA certificates) of one trust domain. */
export interface X509Authorities {
  readonly trustDomain: TrustDomain;
  x509Authorities(): readonly X509Certificate[];
}

export interface X509BundleSource {
  /** Throws a BundleError naming the trust domain when there is no bundle for it. */
  getX509BundleForTrustDomain(td: TrustDomain): X509Authorities;
}

/** The JWT signing keys of one trust domain, by key ID. */
export interface JwtAuthorities {
  readonly trustDomain: TrustDomain;
  findJwtAuthority(keyId: string): KeyObject | undefined;
}

export interface JwtBundleSource {
  /** Throws a BundleError naming the trust domain when there is no bundle for it. */
  getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities;
}

/** The WIT-SVID signing keys of one trust domain, by key ID (WIT-SVID is incubating). */
export interface WitAuthorities {
  readonly trustDomain: TrustDomain;
  findWitAuthority(keyId: string): KeyObject | undefined;
}

export interface WitBundleSource {
  /** Throws a BundleError naming the trust domain when there is no bundle for it. */
  getWitBundleForTrustDomain(td: TrustDomain): WitAuthorities;
}
