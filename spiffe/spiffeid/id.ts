import { SpiffeIdError } from './errors.js';
import { parseId } from './parse.js';
import { joinPathSegments, validatePath } from './path.js';
import { TrustDomain } from './trust-domain.js';

/**
 * A SPIFFE ID: `spiffe://<trust domain><path>`. Immutable; its string form is exactly the text it
 * was parsed from (nothing is normalised, because the rules leave nothing to normalise).
 */
export class SpiffeId {
  readonly trustDomain: TrustDomain;
  /** "" for a trust domain's own ID, else "/seg[/seg…]". */
  readonly path: string;
  readonly #text: string;

  private constructor(trustDomain: TrustDomain, path: string, text?: string) {
    this.trustDomain = trustDomain;
    this.path = path;
    this.#text = text ?? `spiffe://${trustDomain.name}${path}`;
  }

  static fromString(s: string): SpiffeId {
    const parsed = parseId(s);
    if (typeof parsed === 'string') throw new SpiffeIdError(parsed);
    return new SpiffeId(TrustDomain.fromValidatedName(parsed.trustDomain), parsed.path, s);
  }

  /** Like fromString, returning undefined instead of throwing, for untrusted input on hot paths. */
  static tryParse(s: string): SpiffeId | undefined {
    const parsed = parseId(s);
    if (typeof parsed === 'string') return undefined;
    return new SpiffeId(TrustDomain.fromValidatedName(parsed.trustDomain), parsed.path, s);
  }

  /** `spiffe://td` itself: the ID of the trust domain (and of its signing authorities). */
  static forTrustDomain(td: TrustDomain): SpiffeId {
    return new SpiffeId(td, '');
  }

  /** An ID from a trust domain and a path that must already be in "/a/b" form. */
  static fromPath(td: TrustDomain, path: string): SpiffeId {
    validatePath(path);
    return SpiffeId.checked(td, path);
  }

  /** An ID from path segments, each validated on its own ("a", "b" gives "/a/b"). */
  static fromSegments(td: TrustDomain, ...segments: string[]): SpiffeId {
    return SpiffeId.checked(td, joinPathSegments(...segments));
  }

  private static checked(td: TrustDomain, path: string): SpiffeId {
    const id = new SpiffeId(td, path);
    // Re-check the whole string so constructed IDs obey the same length limit as parsed ones.
    const parsed = parseId(id.#text);
    if (typeof parsed === 'string') throw new SpiffeIdError(parsed);
    return id;
  }

  appendPath(path: string): SpiffeId {
    validatePath(path);
    return SpiffeId.checked(this.trustDomain, this.path + path);
  }

  appendSegments(...segments: string[]): SpiffeId {
    return SpiffeId.checked(this.trustDomain, this.path + joinPathSegments(...segments));
  }

  replacePath(path: string): SpiffeId {
    return SpiffeId.fromPath(this.trustDomain, path);
  }

  /** The path split into its segments; [] for a trust domain ID. */
  segments(): string[] {
    return this.path.length === 0 ? [] : this.path.slice(1).split('/');
  }

  /** True when this is the trust domain's own ID (no path). */
  isTrustDomainId(): boolean {
    return this.path.length === 0;
  }

  memberOf(td: TrustDomain): boolean {
    return this.trustDomain.equals(td);
  }

  equals(other: SpiffeId): boolean {
    return this.#text === other.#text;
  }

  /** True when `other` is this ID or below it ("spiffe://td/a" contains "spiffe://td/a/b"). */
  contains(other: SpiffeId): boolean {
    if (!this.trustDomain.equals(other.trustDomain)) return false;
    return other.path === this.path || other.path.startsWith(this.path + '/');
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }
}

