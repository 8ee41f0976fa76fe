/**
 * The two kinds of authority a server rotates — its X.509 CA and its JWT signing key — behind one
 * shape, so that startup and rotation are written once: how each is created in a slot, restored
 * from its journal record, recorded, put into the bundle and taken out of it again.
 */
import { X509Certificate } from 'node:crypto';
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import type { ManagedKey } from '../keymanager/key-manager.js';
import { createX509Ca, restoreX509Ca, x509CaRecord, type Restored, type X509Ca } from './authority.js';
import type { Authorities } from './bundle-publisher.js';
import type { CaConfig } from './config.js';
import { createJwtKey, jwtKeyRecord, restoreJwtKey, type JwtKey } from './jwt-issuer.js';
import type { AuthorityStatus, Journal, JwtKeyRecord, SlotId, X509CaRecord } from './journal.js';

export interface Authority {
  readonly slot: SlotId;
  readonly key: ManagedKey;
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

export interface AuthorityRecord {
  slot: SlotId;
  keyId: string;
  status: AuthorityStatus;
  issuedAt: number;
  notAfter: number;
  keyLocation?: string;
}

/** What the server holds of one kind: the authority that signs, and the next one once prepared. */
export interface Slots<T> {
  active: T;
  prepared: T | undefined;
}

export type KindName = 'x509' | 'jwt';

export interface AuthorityKind<T extends Authority, R extends AuthorityRecord> {
  readonly name: KindName;
  /** For messages: "X.509 CA", "JWT key". */
  readonly label: string;
  /** The log field naming one: authorityId or kid. */
  readonly idField: 'authorityId' | 'kid';
  readonly article: 'a' | 'an';
  /** What logs say about a new one. */
  logFields(c: CaConfig, a: T): Record<string, string>;
  records(journal: Journal): readonly R[];
  withRecords(journal: Journal, records: R[]): Journal;
  /** The X.509 authority ID (SKID hex) or the kid. */
  idOf(a: T | R): string;
  create(c: CaConfig, slot: SlotId, now: Date): Promise<T>;
  restore(c: CaConfig, record: R): Promise<Restored<T>>;
  toRecord(a: T, status: AuthorityStatus): R;
  inBundle(bundle: SpiffeBundle, a: T): boolean;
  published(a: T): Authorities;
  /**
   * Takes what `record` put into the bundle out of it, except what a record in `keep` still needs
   * and (X.509) roots not yet expired at `expiredBy`: an upstream root is shared by every CA it
   * signed, other servers' included. Returns whether the bundle changed.
   */
  unpublish(bundle: SpiffeBundle, record: R, keep: readonly R[], expiredBy: Date): boolean;
}

const der = (b64: string): X509Certificate => new X509Certificate(Buffer.from(b64, 'base64'));

/** The certificates an X.509 CA record put into the bundle: its upstream roots, or itself when self-signed. */
const rootsOf = (r: X509CaRecord): string[] => (r.upstreamRoots.length > 0 ? r.upstreamRoots : [r.certificate]);

export const X509_KIND: AuthorityKind<X509Ca, X509CaRecord> = {
  name: 'x509',
  label: 'X.509 CA',
  idField: 'authorityId',
  article: 'an',
  logFields: (c, ca) => ({
    authorityId: ca.authorityId, notAfter: ca.notAfter.toISOString(), keyLocation: ca.key.location, upstream: c.upstream?.type ?? 'none',
  }),
  records: (j) => j.x509CAs,
  withRecords: (j, x509CAs) => ({ ...j, x509CAs }),
  idOf: (a) => a.authorityId,
  create: (c, slot, now) =>
    createX509Ca({
      trustDomain: c.trustDomain, keyManager: c.keyManager, keyType: c.keyType, ttlSeconds: c.caTtlSeconds, now, slot,
      upstream: c.upstream, subject: c.caSubject,
    }),
  restore: (c, r) => restoreX509Ca(r, c.keyManager, c.trustDomain),
  toRecord: x509CaRecord,
  inBundle: (b, ca) => ca.roots.every((r) => b.hasX509Authority(r)),
  published: (ca) => ({ x509: ca.roots }),
  unpublish(bundle, record, keep, expiredBy) {
    const kept = new Set(keep.flatMap(rootsOf));
    let changed = false;
    for (const root of rootsOf(record)) {
      if (kept.has(root)) continue;
      const cert = der(root);
      if (new Date(cert.validTo) > expiredBy) continue;
      changed = bundle.removeX509Authority(cert) || changed;
    }
    return changed;
  },
};

export const JWT_KIND: AuthorityKind<JwtKey, JwtKeyRecord> = {
  name: 'jwt',
  label: 'JWT key',
  idField: 'kid',
  article: 'a',
  logFields: (_c, k) => ({ kid: k.kid, notAfter: k.notAfter.toISOString(), keyLocation: k.key.location }),
  records: (j) => j.jwtKeys,
  withRecords: (j, jwtKeys) => ({ ...j, jwtKeys }),
  idOf: (a) => a.kid,
  create: (c, slot, now) => createJwtKey({ keyManager: c.keyManager, keyType: c.jwtKeyType, ttlSeconds: c.caTtlSeconds, now, slot }),
  restore: (c, r) => restoreJwtKey(r, c.keyManager),
  toRecord: jwtKeyRecord,
  inBundle: (b, k) => b.findJwtAuthority(k.kid)?.equals(k.key.publicKey) === true,
  published: (k) => ({ jwt: [{ kid: k.kid, publicKey: k.key.publicKey }] }),
  unpublish(bundle, record, keep) {
    if (keep.some((r) => r.kid === record.kid)) return false;
    const key = bundle.findJwtAuthority(record.kid);
    // Another server's key under the same kid (32 random characters: never in practice) stays.
    if (key === undefined || key.export({ type: 'spki', format: 'der' }).toString('base64') !== record.publicKey) return false;
    return bundle.removeJwtAuthority(record.kid);
  },
};
