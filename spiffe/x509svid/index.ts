export { X509Svid } from './svid.js';
export { verifyX509Svid, parseAndVerifyX509Svid, type VerifyOptions, type VerifiedX509Svid } from './verify.js';
export { X509SvidError } from './errors.js';
export type { X509SvidSource } from './source.js';
export { MAX_CHAIN_LENGTH, MAX_SIGNATURE_CHECKS } from './path-validation.js';
