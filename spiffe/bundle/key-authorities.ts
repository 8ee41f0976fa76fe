/**
 * Signing keys by key ID, shared by JWT and WIT bundles (plain RFC 7517 key sets) and by the JWT
 * and WIT halves of a SPIFFE bundle.
 */
import type { KeyObject } from 'node:crypto';
import { JsonParseError, parseJson, stringifyJson, type JsonObject, type JsonValue } from '../internal/json.js';
import { BundleError, invalidBundle, type BundleModule } from './errors.js';
import { authorityKeyProblem, decodeJwk, encodeJwk, isJsonObject, JwkError, type DecodedJwk } from './jwk.js';

export type KeyAuthorityEntries = Iterable<readonly [string, KeyObject]>;

export class KeyAuthorities {
  readonly #keys = new Map<string, KeyObject>();

  constructor(
    private readonly module: BundleModule,
    private readonly noun: string,
    entries: KeyAuthorityEntries = [],
  ) {
    for (const [kid, key] of entries) this.set(kid, key);
  }

  /** Replaces any key under the same ID, as go-spiffe's AddJWTAuthority does. */
  set(kid: string, key: KeyObject): void {
    if (kid === '') throw invalidBundle(this.module, 'keyID cannot be empty');
    const problem = authorityKeyProblem(key);
    if (problem !== undefined) throw invalidBundle(this.module, `${this.noun} ${JSON.stringify(kid)}: ${problem}`);
    this.#keys.set(kid, key);
  }

  get(kid: string): KeyObject | undefined {
    return this.#keys.get(kid);
  }

  has(kid: string): boolean {
    return this.#keys.has(kid);
  }

  delete(kid: string): boolean {
    return this.#keys.delete(kid);
  }

  clear(): void {
    this.#keys.clear();
  }

  get size(): number {
    return this.#keys.size;
  }

  /** Sorted by key ID, so everything built from it (marshalled bytes, listings) is deterministic. */
  sorted(): [string, KeyObject][] {
    return [...this.#keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  toMap(): Map<string, KeyObject> {
    return new Map(this.sorted());
  }

  equals(other: KeyAuthorities): boolean {
    if (this.#keys.size !== other.#keys.size) return false;
    for (const [kid, key] of this.#keys) {
      const theirs = other.#keys.get(kid);
      if (theirs === undefined || !theirs.equals(key)) return false;
    }
    return true;
  }
}

/** The top-level object of a JWK set. Go decodes a JSON `null` document as an empty one. */
export function readJwksDocument(module: BundleModule, input: string | Uint8Array): JsonObject {
  let doc: JsonValue;
  try {
    doc = parseJson(input);
  } catch (err) {
    if (err instanceof JsonParseError) throw invalidBundle(module, `unable to parse JWKS: ${err.message}`, err);
    throw err;
  }
  if (doc === null) return {};
  if (!isJsonObject(doc)) throw invalidBundle(module, 'unable to parse JWKS: document must be a JSON object');
  return doc;
}

/** The `keys` array, or undefined when absent or null (go-spiffe tells these apart from `[]`). */
export function jwksKeys(module: BundleModule, doc: JsonObject): readonly JsonValue[] | undefined {
  const keys = doc['keys'];
  if (keys === undefined || keys === null) return undefined;
  if (!Array.isArray(keys)) throw invalidBundle(module, 'unable to parse JWKS: "keys" must be an array');
  return keys as readonly JsonValue[];
}

export function decodeJwkAt(module: BundleModule, value: JsonValue | undefined, i: number): DecodedJwk {
  try {
    return decodeJwk(value);
  } catch (err) {
    if (err instanceof JwkError) throw invalidBundle(module, `unable to parse JWKS: key ${i}: ${err.message}`, err);
    throw err;
  }
}

/**
 * Adds key `i` of a parsed document. A key ID seen twice must name the same key, within one map and
 * across `others` (the WIT-SVID spec makes key IDs unique across JWT and WIT keys): a set that maps
 * one ID to two keys is ambiguous, where go-spiffe silently keeps the last.
 */
export function addParsedKey(
  module: BundleModule,
  target: KeyAuthorities,
  jwk: DecodedJwk,
  i: number,
  what = 'authority',
  others: readonly KeyAuthorities[] = [],
): void {
  const kid = jwk.kid ?? '';
  for (const m of [target, ...others]) {
    const existing = m.get(kid);
    if (existing !== undefined && !existing.equals(jwk.key)) {
      throw invalidBundle(module, `error adding ${what} ${i} of JWKS: keyID ${JSON.stringify(kid)} is used by two different keys`);
    }
  }
  try {
    target.set(kid, jwk.key);
  } catch (err) {
    if (err instanceof BundleError) throw invalidBundle(module, `error adding ${what} ${i} of JWKS: ${err.detail}`, err);
    throw err;
  }
}

/**
 * A plain JWK set, as jwtbundle.Parse and witbundle.Parse read it: `use` is ignored and every key
 * needs a `kid`. All keys are decoded before any is added, so a malformed key is reported ahead of
 * a missing kid, in go-spiffe's order (go-jose decodes the whole set first).
 */
export function parseKeySet(module: BundleModule, noun: string, input: string | Uint8Array): KeyAuthorities {
  const keys = jwksKeys(module, readJwksDocument(module, input)) ?? [];
  const decoded = keys.map((k, i) => decodeJwkAt(module, k, i));
  const out = new KeyAuthorities(module, noun);
  decoded.forEach((jwk, i) => addParsedKey(module, out, jwk, i));
  return out;
}

/**
 * A plain JWK set with `kid` on every key and no `use` (what SPIRE serves in JWTBundlesResponse).
 * An empty set is `{"keys":[]}`: go-jose writes `null`, which spiffebundle.Parse would reject.
 */
export function marshalKeySet(authorities: KeyAuthorities): string {
  return stringifyJson({ keys: authorities.sorted().map(([kid, key]) => encodeJwk(key, { kid })) });
}
