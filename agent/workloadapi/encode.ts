/**
 * Streamed responses, encoded once and shared. Every caller with the same identities at the same
 * cache version receives the same bytes, so a thousand replicas of one service cost one protobuf
 * encoding per change, and memory does not grow with callers × response size (spire-measured.md:
 * SPIRE encodes per caller and its agent reached 305 MB serving 100 callers a 1.24 MB response).
 *
 * The cache's snapshot version rises on every change it makes, so (version, identity set) names
 * one response exactly; entries of older versions are dropped when a newer version is first seen.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import { WORKLOAD_API_SERVICE } from '../../spiffe/workloadapi/index.js';
import type { BundleView, Identity, IdentitySnapshot } from '../cache/workload-view.js';
import type { JwtBundlesResponseMsg, X509BundlesResponseMsg, X509SvidResponseMsg } from './messages.js';

/** More distinct identity sets than this at one version is unusual; past it, start over. */
const MAX_SHARED_RESPONSES = 4096;

type Serialize = (value: object) => Buffer;

function serializers(): { x509Svid: Serialize; x509Bundles: Serialize; jwtBundles: Serialize } {
  const def = loadProto('workload.proto')[WORKLOAD_API_SERVICE] as ServiceDefinition;
  const of = (method: string): Serialize => {
    const m = def[method];
    if (m === undefined) throw new Error(`workload.proto has no ${method}`);
    return m.responseSerialize as Serialize;
  };
  return { x509Svid: of('FetchX509SVID'), x509Bundles: of('FetchX509Bundles'), jwtBundles: of('FetchJWTBundles') };
}

/** A trust domain as the bundle maps key it: its SPIFFE ID. */
export function trustDomainKey(name: string): string {
  return name.startsWith('spiffe://') ? name : `spiffe://${name}`;
}

/**
 * Identities with a hint already taken dropped (the first keeps it), as the spec requires hints to
 * be unique in one response. The cache does this already; it is repeated here because a duplicate
 * on the wire would make clients silently pick one.
 */
export function uniqueHints(identities: readonly Identity[]): Identity[] {
  const seen = new Set<string>();
  return identities.filter((i) => {
    if (i.hint === '') return true;
    if (seen.has(i.hint)) return false;
    seen.add(i.hint);
    return true;
  });
}

/** The bundles a caller may see: its own trust domain's, and federated ones only if it holds an identity. */
export function entitledBundles(snap: IdentitySnapshot): BundleView[] {
  if (snap.identities.length === 0) return [snap.bundle];
  const federated = [...snap.federatedBundles.values()].sort((a, b) => (a.trustDomain < b.trustDomain ? -1 : 1));
  return [snap.bundle, ...federated.filter((b) => b.trustDomain !== snap.bundle.trustDomain)];
}

export class SharedResponses {
  readonly #serialize = serializers();
  #version = -Infinity;
  readonly #responses = new Map<string, Buffer>();
  /** Encodings performed, for tests and the benchmark to see the sharing. */
  encodings = 0;

  /** FetchX509SVID's response; the snapshot must hold at least one identity. */
  x509Svid(snap: IdentitySnapshot): Buffer {
    const identities = uniqueHints(snap.identities);
    const key = `svid\0${identities.map((i) => i.entryId).join('\0')}`;
    return this.#shared(snap.version, key, () => {
      const msg: X509SvidResponseMsg = {
        svids: identities.map((i) => ({
          spiffe_id: i.spiffeId,
          x509_svid: i.certChainDer,
          x509_svid_key: i.privateKeyDer,
          bundle: snap.bundle.x509Der,
          hint: i.hint,
        })),
        crl: [],
        federated_bundles: bundleMap(entitledBundles(snap).slice(1), (b) => b.x509Der),
      };
      return this.#serialize.x509Svid(msg);
    });
  }

  x509Bundles(snap: IdentitySnapshot): Buffer {
    const bundles = entitledBundles(snap);
    return this.#shared(snap.version, `x509\0${bundles.map((b) => b.trustDomain).join('\0')}`, () => {
      const msg: X509BundlesResponseMsg = { crl: [], bundles: bundleMap(bundles, (b) => b.x509Der) };
      return this.#serialize.x509Bundles(msg);
    });
  }

  jwtBundles(snap: IdentitySnapshot): Buffer {
    const bundles = entitledBundles(snap);
    return this.#shared(snap.version, `jwt\0${bundles.map((b) => b.trustDomain).join('\0')}`, () => {
      const msg: JwtBundlesResponseMsg = { bundles: bundleMap(bundles, (b) => b.jwksJson) };
      return this.#serialize.jwtBundles(msg);
    });
  }

  #shared(version: number, key: string, encode: () => Buffer): Buffer {
    if (version > this.#version) {
      this.#version = version;
      this.#responses.clear();
    } else if (version < this.#version) {
      // A subscriber still catching up: correct bytes, just not worth keeping.
      this.encodings++;
      return encode();
    }
    let bytes = this.#responses.get(key);
    if (bytes === undefined) {
      bytes = encode();
      this.encodings++;
      if (this.#responses.size >= MAX_SHARED_RESPONSES) this.#responses.clear();
      this.#responses.set(key, bytes);
    }
    return bytes;
  }
}

function bundleMap(bundles: readonly BundleView[], bytes: (b: BundleView) => Buffer): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const b of bundles) out[trustDomainKey(b.trustDomain)] = bytes(b);
  return out;
}
