/**
 * What the agent knows of one registration entry (pushed by the server's SyncEntries) and of the
 * X.509-SVID it minted for it. Both are immutable values: a change is a new object.
 */
import type { Selector } from './workload-view.js';

export interface SyncedEntry {
  readonly id: string;
  readonly spiffeId: string;
  readonly parentId: string;
  readonly selectors: readonly Selector[];
  /** Seconds; 0 = the server's default. */
  readonly x509SvidTtl: number;
  readonly jwtSvidTtl: number;
  readonly dnsNames: readonly string[];
  readonly federatesWith: readonly string[];
  readonly hint: string;
  readonly admin: boolean;
  readonly downstream: boolean;
  /** Goes up on every update of the entry: a different revision means re-mint. */
  readonly revision: number;
  /** Unix seconds. */
  readonly createdAt: number;
}

export interface MintedSvid {
  readonly entryId: string;
  /** The entry revision the SVID was minted for. */
  readonly revision: number;
  /** The entry's SPIFFE ID when it was minted (what the certificate names). */
  readonly spiffeId: string;
  /** Concatenated DER, leaf first. */
  readonly certChainDer: Buffer;
  /** PKCS#8 DER. */
  readonly privateKeyDer: Buffer;
  /** Unix seconds. */
  readonly expiresAt: number;
  /** When the agent asked for it (ms since the epoch): the start of its life for rotation. */
  readonly mintedAtMs: number;
}

/** `type:value`, the form selectors are compared in. */
export function selectorKey(s: Selector): string {
  return `${s.type}:${s.value}`;
}

/** One string per distinct selector set (sorted, deduplicated), to share work between callers with equal sets. */
export function selectorSetKey(selectors: readonly Selector[]): string {
  return [...new Set(selectors.map(selectorKey))].sort().join('\n');
}
