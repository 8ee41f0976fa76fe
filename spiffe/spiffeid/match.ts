import { SpiffeIdError } from './errors.js';
import type { SpiffeId } from './id.js';
import type { TrustDomain } from './trust-domain.js';

/** Decides whether a peer's SPIFFE ID is acceptable; throws a SpiffeIdError naming why not. */
export type Matcher = (id: SpiffeId) => void;

export function matchAny(): Matcher {
  return () => undefined;
}

export function matchId(expected: SpiffeId): Matcher {
  return (id) => {
    if (!id.equals(expected)) throw new SpiffeIdError(`unexpected ID "${id}"`);
  };
}

export function matchOneOf(...expected: SpiffeId[]): Matcher {
  const set = new Set(expected.map(String));
  return (id) => {
    if (!set.has(id.toString())) throw new SpiffeIdError(`unexpected ID "${id}"`);
  };
}

export function matchMemberOf(td: TrustDomain): Matcher {
  return (id) => {
    if (!id.memberOf(td)) throw new SpiffeIdError(`unexpected trust domain "${id.trustDomain}"`);
  };
}
