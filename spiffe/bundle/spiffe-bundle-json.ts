/**
 * The SPIFFE bundle document (SPIFFE_Trust_Domain_and_Bundle.md section 4): an RFC 7517 JWK set
 * with `spiffe_sequence` and `spiffe_refresh_hint`, one `x509-svid` JWK per CA certificate and one
 * `jwt-svid` / `wit-svid` JWK per signing key.
 *
 * Where go-spiffe is stricter than the spec, reading follows go-spiffe by default, because its
 * behaviour is what the conformance vectors and every SPIRE peer expect:
 *   - an x509-svid entry must hold exactly one x5c certificate (spec: skip entries without x5c, use
 *     the first of several);
 *   - a JWK of unknown kty or curve fails the whole bundle (spec: ignore that JWK);
 *   - every JWK is decoded, whatever its use, before any is looked at.
 * `mode: 'spec'` reads the spec-literal way instead, for peers that write such bundles. Both modes
 * reject a JWK whose key members differ from its x5c certificate, a jwt-svid or wit-svid entry
 * without kid, and malformed keys: the spec's leniency is for keys a reader does not understand,
 * not for keys that are broken or contradict themselves.
 *
 * Stricter than go-spiffe in both modes (it would load these): a negative refresh hint; symmetric
 * or private JWKs (see jwk.ts); one kid naming two different keys, within the JWT keys, within the
 * WIT keys or across them (WIT-SVID.md makes kids unique across the bundle).
 */
import type { KeyObject, X509Certificate } from 'node:crypto';
import type { JsonObject, JsonValue } from '../internal/json.js';
import { invalidBundle } from './errors.js';
import { decodeJwk, encodeJwk, isJsonObject, JwkError, type DecodedJwk } from './jwk.js';
import { addParsedKey, decodeJwkAt, jwksKeys, KeyAuthorities } from './key-authorities.js';

export type SpiffeBundleParseMode = 'go-spiffe' | 'spec';

export interface SpiffeBundleParseOptions {
  /** 'go-spiffe' (default) or 'spec'; see the module comment for the three differences. */
  mode?: SpiffeBundleParseMode;
}

export const X509_SVID_USE = 'x509-svid';
export const JWT_SVID_USE = 'jwt-svid';
export const WIT_SVID_USE = 'wit-svid';

export const MAX_SEQUENCE_NUMBER = 2n ** 64n - 1n;

export interface SpiffeBundleContents {
  x509Authorities: X509Certificate[];
  jwtAuthorities: KeyAuthorities;
  witAuthorities: KeyAuthorities;
  refreshHintSeconds: number | undefined;
  sequenceNumber: bigint | undefined;
}

const M = 'spiffebundle';

export function refreshHintProblem(v: number): string | undefined {
  return Number.isSafeInteger(v) && v >= 0 ? undefined : 'must be a non-negative integer number of seconds';
}

export function sequenceNumberProblem(v: bigint): string | undefined {
  return v >= 0n && v <= MAX_SEQUENCE_NUMBER ? undefined : `must be an integer from 0 to ${MAX_SEQUENCE_NUMBER}`;
}

/** Reads a parsed document. JSON `null` reads as `{}`, as Go's decoder does (so: no authorities). */
export function readSpiffeBundleDocument(value: JsonValue, mode: SpiffeBundleParseMode = 'go-spiffe'): SpiffeBundleContents {
  const doc: JsonValue = value === null ? {} : value;
  if (!isJsonObject(doc)) throw invalidBundle(M, 'unable to parse JWKS: document must be a JSON object');
  const refreshHintSeconds = readRefreshHint(doc['spiffe_refresh_hint']);
  const sequenceNumber = readSequenceNumber(doc['spiffe_sequence']);
  const keys = jwksKeys(M, doc);
  const decoded = (keys ?? []).map((k, i) => (mode === 'spec' ? decodeIfUsable(k, i) : decodeJwkAt(M, k, i)));
  if (keys === undefined) throw invalidBundle(M, 'no authorities found');

  const x509Authorities: X509Certificate[] = [];
  const jwtAuthorities = new KeyAuthorities(M, 'JWT authority');
  const witAuthorities = new KeyAuthorities(M, 'WIT authority');
  decoded.forEach((jwk, i) => {
    switch (jwk?.use) {
      case X509_SVID_USE: {
        const n = jwk.certificates.length;
        if (mode !== 'spec' && n !== 1) {
          throw invalidBundle(M, `expected a single certificate in ${X509_SVID_USE} entry ${i}; got ${n}`);
        }
        const cert = jwk.certificates[0];
        if (cert !== undefined) x509Authorities.push(cert);
        break;
      }
      case JWT_SVID_USE:
        addParsedKey(M, jwtAuthorities, jwk, i, 'authority', [witAuthorities]);
        break;
      case WIT_SVID_USE:
        addParsedKey(M, witAuthorities, jwk, i, 'WIT authority', [jwtAuthorities]);
        break;
      default:
      // Unknown or missing use: the spec says ignore, and go-spiffe does.
    }
  });
  return { x509Authorities, jwtAuthorities, witAuthorities, refreshHintSeconds, sequenceNumber };
}

/** Spec mode: entries of unknown use, kty or curve are skipped; broken ones still fail. */
function decodeIfUsable(value: JsonValue | undefined, i: number): DecodedJwk | undefined {
  if (!isJsonObject(value)) throw invalidBundle(M, `unable to parse JWKS: key ${i}: must be a JSON object`);
  const use = value['use'];
  if (use !== X509_SVID_USE && use !== JWT_SVID_USE && use !== WIT_SVID_USE) return undefined;
  try {
    return decodeJwk(value);
  } catch (err) {
    if (err instanceof JwkError && err.unsupported) return undefined;
    if (err instanceof JwkError) throw invalidBundle(M, `unable to parse JWKS: key ${i}: ${err.message}`, err);
    throw err;
  }
}

function readRefreshHint(v: JsonValue | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const problem = typeof v === 'number' ? refreshHintProblem(v) : 'must be a non-negative integer number of seconds';
  if (problem !== undefined) throw invalidBundle(M, `unable to parse JWKS: "spiffe_refresh_hint" ${problem}`);
  return v as number;
}

function readSequenceNumber(v: JsonValue | undefined): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : undefined;
  if (n === undefined || sequenceNumberProblem(n) !== undefined) {
    throw invalidBundle(M, `unable to parse JWKS: "spiffe_sequence" ${sequenceNumberProblem(-1n) ?? ''}`);
  }
  return n;
}

/** What the writer reads of a SpiffeBundle (structural, so this module need not import the class). */
export interface SpiffeBundleParts {
  x509Authorities(): readonly X509Certificate[];
  jwtAuthorities(): ReadonlyMap<string, KeyObject>;
  witAuthorities(): ReadonlyMap<string, KeyObject>;
  readonly refreshHintSeconds: number | undefined;
  readonly sequenceNumber: bigint | undefined;
}

/**
 * The document for `bundle`: X.509 authorities in the bundle's order, then JWT and WIT keys sorted
 * by kid, so equal bundles give equal bytes. `keys` is always an array (go-spiffe writes `null` for
 * an empty bundle, which its own Parse then rejects).
 */
export function spiffeBundleDocument(bundle: SpiffeBundleParts, options: { omitRefreshHint?: boolean } = {}): JsonObject {
  const keys: JsonObject[] = bundle.x509Authorities().map((c) => encodeJwk(c.publicKey, { use: X509_SVID_USE, x5c: c }));
  for (const [kid, key] of bundle.jwtAuthorities()) keys.push(encodeJwk(key, { use: JWT_SVID_USE, kid }));
  for (const [kid, key] of bundle.witAuthorities()) keys.push(encodeJwk(key, { use: WIT_SVID_USE, kid }));
  return {
    keys,
    spiffe_sequence: bundle.sequenceNumber,
    spiffe_refresh_hint: options.omitRefreshHint === true ? undefined : bundle.refreshHintSeconds,
  };
}
