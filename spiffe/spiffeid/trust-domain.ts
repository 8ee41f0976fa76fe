import { Rule, SpiffeIdError } from './errors.js';
import { parseId, trustDomainNameError } from './parse.js';

/**
 * A SPIFFE trust domain: the authority part of a SPIFFE ID ("example.org"). Compared by name;
 * uppercase is rejected, never folded (as go-spiffe and SPIRE do), so names compare byte-exact.
 */
export class TrustDomain {
  readonly name: string;

  private constructor(name: string) {
    this.name = name;
  }

  /**
   * Accepts a bare name ("example.org") or, as go-spiffe does, anything containing ":/" parsed as a
   * full SPIFFE ID whose path is dropped ("spiffe://example.org/x" gives "example.org").
   */
  static fromString(s: string): TrustDomain {
    if (s.length === 0) throw new SpiffeIdError(Rule.missingTrustDomain);
    if (s.includes(':/')) {
      const parsed = parseId(s);
      if (typeof parsed === 'string') throw new SpiffeIdError(parsed);
      return new TrustDomain(parsed.trustDomain);
    }
    const err = trustDomainNameError(s);
    if (err !== undefined) throw new SpiffeIdError(err);
    return new TrustDomain(s);
  }

  /** For names already validated by parseId (no second scan). */
  static fromValidatedName(name: string): TrustDomain {
    return new TrustDomain(name);
  }

  /** The trust domain's own SPIFFE ID string, "spiffe://example.org" (no trailing slash). */
  idString(): string {
    return `spiffe://${this.name}`;
  }

  equals(other: TrustDomain): boolean {
    return this.name === other.name;
  }

  compare(other: TrustDomain): number {
    return this.name < other.name ? -1 : this.name > other.name ? 1 : 0;
  }

  toString(): string {
    return this.name;
  }

  toJSON(): string {
    return this.name;
  }
}
