import { SigilError } from '../errors.js';

/**
 * The rules a SPIFFE ID can break, worded as go-spiffe words them (its spiffeid package returns
 * them without a prefix), so messages read the same to operators of either system.
 */
export const Rule = {
  empty: 'cannot be empty',
  badScheme: 'scheme is missing or invalid',
  missingTrustDomain: 'trust domain is missing',
  badTrustDomainChar:
    'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  badPathSegmentChar:
    'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
  noLeadingSlash: 'path must have a leading slash',
  emptySegment: 'path cannot contain empty segments',
  dotSegment: 'path cannot contain dot segments',
  trailingSlash: 'path cannot have a trailing slash',
  // Ours, not go-spiffe's: SPIFFE-ID.md 2.3 and 2.1 set these limits; go-spiffe enforces neither.
  idTooLong: 'SPIFFE ID cannot be longer than 2048 bytes',
  trustDomainTooLong: 'trust domain cannot be longer than 255 bytes',
} as const;

export class SpiffeIdError extends SigilError {
  constructor(message: string) {
    super('SIGIL_SPIFFEID_INVALID', message);
  }
}
