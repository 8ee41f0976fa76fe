/**
 * Trust bundles: the authorities that verify SVIDs of one trust domain, in the three shapes SPIFFE
 * moves them around — X.509 CA certificates (PEM or the Workload API's concatenated DER), JWT signing
 * keys (plain JWK sets), and full SPIFFE bundles (JWK sets with `use`, sequence and refresh hint) —
 * plus the incubating WIT-SVID keys and a set of bundles keyed by trust domain.
 *
 * Verification code takes the Source interfaces and never learns where authorities came from.
 */
export { BundleError, BundleErrorCode, type BundleModule } from './errors.js';
export type {
  JwtAuthorities,
  JwtBundleSource,
  WitAuthorities,
  WitBundleSource,
  X509Authorities,
  X509BundleSource,
} from './source.js';
export { X509Bundle } from './x509-bundle.js';
export { JwtBundle } from './jwt-bundle.js';
export { WitBundle } from './wit-bundle.js';
export { SpiffeBundle, type SpiffeBundleInit, type SpiffeBundleSource } from './spiffe-bundle.js';
export {
  MAX_SEQUENCE_NUMBER,
  type SpiffeBundleParseMode,
  type SpiffeBundleParseOptions,
} from './spiffe-bundle-json.js';
export { BundleSet } from './set.js';
export type { KeyAuthorityEntries } from './key-authorities.js';
