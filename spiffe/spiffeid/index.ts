export { SpiffeId } from './id.js';
export { TrustDomain } from './trust-domain.js';
export { validatePath, validatePathSegment, joinPathSegments } from './path.js';
export { SpiffeIdError, Rule } from './errors.js';
export { MAX_ID_BYTES, MAX_TRUST_DOMAIN_BYTES } from './parse.js';
export { matchAny, matchId, matchOneOf, matchMemberOf, type Matcher } from './match.js';
