import type { KeyObject, X509Certificate } from 'node:crypto';
import { messageOf } from '../errors.js';
import { JsonParseError, parseJson, stringifyJson, type JsonValue } from '../internal/json.js';
import type { TrustDomain } from '../spiffeid/index.js';
import { bundleNotFound, invalidBundle } from './errors.js';
import { authorityKeyProblem } from './jwk.js';
import { JwtBundle } from './jwt-bundle.js';
import { KeyAuthorities, type KeyAuthorityEntries } from './key-authorities.js';
import type { JwtAuthorities, JwtBundleSource, WitAuthorities, WitBundleSource, X509Authorities, X509BundleSource } from './source.js';
import {
  readSpiffeBundleDocument,
  refreshHintProblem,
  sequenceNumberProblem,
  spiffeBundleDocument,
  type SpiffeBundleParseOptions,
} from './spiffe-bundle-json.js';
import { WitBundle } from './wit-bundle.js';
import { X509AuthorityList } from './x509-authorities.js';
import { X509Bundle } from './x509-bundle.js';

export interface SpiffeBundleInit {
  x509Authorities?: Iterable<X509Certificate>;
  jwtAuthorities?: KeyAuthorityEntries;
  witAuthorities?: KeyAuthorityEntries;
  /** Seconds; a non-negative safe integer. */
  refreshHintSeconds?: number;
  /** 0 to 2^64−1. */
  sequenceNumber?: bigint;
}

/** Where full SPIFFE bundles come from (a BundleSet, or one bundle for its own trust domain). */
export interface SpiffeBundleSource {
  getBundleForTrustDomain(td: TrustDomain): SpiffeBundle;
}

const M = 'spiffebundle';

/**
 * A SPIFFE bundle: every authority of one trust domain, X.509 and JWT (and incubating WIT), with
 * the publisher's refresh hint and sequence number. It does not carry its trust domain name on the
 * wire, so it is always built for a trust domain the caller names.
 */
export class SpiffeBundle
  implements X509Authorities, JwtAuthorities, WitAuthorities, X509BundleSource, JwtBundleSource, WitBundleSource, SpiffeBundleSource
{
  readonly trustDomain: TrustDomain;
  #x509 = new X509AuthorityList();
  #jwt = new KeyAuthorities(M, 'JWT authority');
  #wit = new KeyAuthorities(M, 'WIT authority');
  #refreshHint: number | undefined;
  #sequence: bigint | undefined;

  constructor(trustDomain: TrustDomain, init: SpiffeBundleInit = {}) {
    this.trustDomain = trustDomain;
    this.setX509Authorities(init.x509Authorities ?? []);
    this.setJwtAuthorities(init.jwtAuthorities ?? []);
    this.setWitAuthorities(init.witAuthorities ?? []);
    this.refreshHintSeconds = init.refreshHintSeconds;
    this.sequenceNumber = init.sequenceNumber;
  }

  /** A SPIFFE bundle JSON document; see spiffe-bundle-json.ts for the rules and `options.mode`. */
  static parse(trustDomain: TrustDomain, json: string | Uint8Array, options: SpiffeBundleParseOptions = {}): SpiffeBundle {
    let doc: JsonValue;
    try {
      doc = parseJson(json);
    } catch (err) {
      if (err instanceof JsonParseError) throw invalidBundle(M, `unable to parse JWKS: ${err.message}`, err);
      throw err;
    }
    return SpiffeBundle.fromDocument(trustDomain, doc, options);
  }

  /** From an already parsed document (a bundle map holds several). */
  static fromDocument(trustDomain: TrustDomain, doc: JsonValue, options: SpiffeBundleParseOptions = {}): SpiffeBundle {
    const c = readSpiffeBundleDocument(doc, options.mode);
    const bundle = new SpiffeBundle(trustDomain, {
      x509Authorities: c.x509Authorities,
      refreshHintSeconds: c.refreshHintSeconds,
      sequenceNumber: c.sequenceNumber,
    });
    bundle.#jwt = c.jwtAuthorities;
    bundle.#wit = c.witAuthorities;
    return bundle;
  }

  /** Throws if a certificate's public key cannot be written as a JWK (see addX509Authority). */
  static fromX509Bundle(bundle: X509Bundle): SpiffeBundle {
    return new SpiffeBundle(bundle.trustDomain, { x509Authorities: bundle.x509Authorities() });
  }

  static fromJwtBundle(bundle: JwtBundle): SpiffeBundle {
    return new SpiffeBundle(bundle.trustDomain, { jwtAuthorities: bundle.jwtAuthorities() });
  }

  static fromWitBundle(bundle: WitBundle): SpiffeBundle {
    return new SpiffeBundle(bundle.trustDomain, { witAuthorities: bundle.witAuthorities() });
  }

  get refreshHintSeconds(): number | undefined {
    return this.#refreshHint;
  }

  set refreshHintSeconds(seconds: number | undefined) {
    const problem = seconds === undefined ? undefined : refreshHintProblem(seconds);
    if (problem !== undefined) throw invalidBundle(M, `refresh hint ${problem}`);
    this.#refreshHint = seconds;
  }

  get sequenceNumber(): bigint | undefined {
    return this.#sequence;
  }

  set sequenceNumber(n: bigint | undefined) {
    const problem = n === undefined ? undefined : sequenceNumberProblem(n);
    if (problem !== undefined) throw invalidBundle(M, `sequence number ${problem}`);
    this.#sequence = n;
  }

  x509Authorities(): readonly X509Certificate[] {
    return this.#x509.list();
  }

  hasX509Authority(cert: X509Certificate): boolean {
    return this.#x509.has(cert);
  }

  /**
   * False when the certificate is already present. Its public key must be one a JWK can carry (EC
   * P-256/384/521, RSA, Ed25519), so that marshal() cannot fail later.
   */
  addX509Authority(cert: X509Certificate): boolean {
    let problem: string | undefined;
    try {
      problem = authorityKeyProblem(cert.publicKey);
    } catch (err) {
      problem = `unsupported public key (${messageOf(err)})`;
    }
    if (problem !== undefined) throw invalidBundle(M, `X.509 authority ${JSON.stringify(cert.subject)}: ${problem}`);
    return this.#x509.add(cert);
  }

  removeX509Authority(cert: X509Certificate): boolean {
    return this.#x509.remove(cert);
  }

  setX509Authorities(certs: Iterable<X509Certificate>): void {
    const previous = this.#x509;
    this.#x509 = new X509AuthorityList();
    try {
      for (const c of certs) this.addX509Authority(c);
    } catch (err) {
      this.#x509 = previous;
      throw err;
    }
  }

  /** A copy, sorted by key ID. */
  jwtAuthorities(): ReadonlyMap<string, KeyObject> {
    return this.#jwt.toMap();
  }

  findJwtAuthority(keyId: string): KeyObject | undefined {
    return this.#jwt.get(keyId);
  }

  hasJwtAuthority(keyId: string): boolean {
    return this.#jwt.has(keyId);
  }

  /** Replaces a JWT key under the same ID; a WIT key under the same ID must be the same key. */
  addJwtAuthority(keyId: string, key: KeyObject): void {
    this.#checkUnique(this.#wit, keyId, key);
    this.#jwt.set(keyId, key);
  }

  removeJwtAuthority(keyId: string): boolean {
    return this.#jwt.delete(keyId);
  }

  setJwtAuthorities(authorities: KeyAuthorityEntries): void {
    const next = new KeyAuthorities(M, 'JWT authority', authorities);
    for (const [kid, key] of next.sorted()) this.#checkUnique(this.#wit, kid, key);
    this.#jwt = next;
  }

  witAuthorities(): ReadonlyMap<string, KeyObject> {
    return this.#wit.toMap();
  }

  findWitAuthority(keyId: string): KeyObject | undefined {
    return this.#wit.get(keyId);
  }

  hasWitAuthority(keyId: string): boolean {
    return this.#wit.has(keyId);
  }

  addWitAuthority(keyId: string, key: KeyObject): void {
    this.#checkUnique(this.#jwt, keyId, key);
    this.#wit.set(keyId, key);
  }

  removeWitAuthority(keyId: string): boolean {
    return this.#wit.delete(keyId);
  }

  setWitAuthorities(authorities: KeyAuthorityEntries): void {
    const next = new KeyAuthorities(M, 'WIT authority', authorities);
    for (const [kid, key] of next.sorted()) this.#checkUnique(this.#jwt, kid, key);
    this.#wit = next;
  }

  /** No authority of any kind: every SVID from the trust domain must be rejected. */
  isEmpty(): boolean {
    return this.#x509.size === 0 && this.#jwt.size === 0 && this.#wit.size === 0;
  }

  x509Bundle(): X509Bundle {
    return new X509Bundle(this.trustDomain, this.#x509.list());
  }

  jwtBundle(): JwtBundle {
    return new JwtBundle(this.trustDomain, this.#jwt.sorted());
  }

  witBundle(): WitBundle {
    return new WitBundle(this.trustDomain, this.#wit.sorted());
  }

  /** Compact JSON; deterministic for equal bundles (X.509 in bundle order, keys by kid). */
  marshal(options: { indent?: number } = {}): string {
    return stringifyJson(spiffeBundleDocument(this), options);
  }

  /** Authorities, refresh hint and sequence number all equal, as go-spiffe's Equal. */
  equals(other: SpiffeBundle): boolean {
    return (
      this.trustDomain.equals(other.trustDomain) &&
      this.#refreshHint === other.#refreshHint &&
      this.#sequence === other.#sequence &&
      this.#x509.equals(other.#x509) &&
      this.#jwt.equals(other.#jwt) &&
      this.#wit.equals(other.#wit)
    );
  }

  clone(): SpiffeBundle {
    return new SpiffeBundle(this.trustDomain, {
      x509Authorities: this.#x509.list(),
      jwtAuthorities: this.#jwt.sorted(),
      witAuthorities: this.#wit.sorted(),
      refreshHintSeconds: this.#refreshHint,
      sequenceNumber: this.#sequence,
    });
  }

  getBundleForTrustDomain(td: TrustDomain): SpiffeBundle {
    return this.#own(td, 'SPIFFE');
  }

  getX509BundleForTrustDomain(td: TrustDomain): X509Authorities {
    return this.#own(td, 'X.509');
  }

  getJwtBundleForTrustDomain(td: TrustDomain): JwtAuthorities {
    return this.#own(td, 'JWT');
  }

  getWitBundleForTrustDomain(td: TrustDomain): WitAuthorities {
    return this.#own(td, 'WIT');
  }

  #own(td: TrustDomain, kind: string): SpiffeBundle {
    if (!this.trustDomain.equals(td)) throw bundleNotFound(M, `no ${kind} bundle for trust domain ${JSON.stringify(td.name)}`);
    return this;
  }

  #checkUnique(other: KeyAuthorities, keyId: string, key: KeyObject): void {
    const existing = other.get(keyId);
    if (existing !== undefined && !existing.equals(key)) {
      throw invalidBundle(M, `keyID ${JSON.stringify(keyId)} is already used by a different key`);
    }
  }
}
