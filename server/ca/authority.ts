/**
 * The X.509 CA of one server: its signing key (in the KeyManager), its certificate — a self-signed
 * root, or an intermediate signed by an upstream CA — and what follows from that choice: the
 * certificates appended to every SVID chain and the roots the trust domain's bundle publishes.
 */
import { X509Certificate } from 'node:crypto';
import { messageOf } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { caTemplate, issueCertificate, validityWindow, type SubjectName } from '../../spiffe/x509svid/profile.js';
import type { KeyManager, KeyType, ManagedKey } from '../keymanager/key-manager.js';
import { authorityIdOf, notAfterOf } from './certificates.js';
import { CaError, CaErrorCode } from './errors.js';
import { x509KeyId, type AuthorityStatus, type SlotId, type X509CaRecord } from './journal.js';
import type { UpstreamAuthority } from './upstream/upstream-authority.js';

export interface X509Ca {
  readonly slot: SlotId;
  readonly key: ManagedKey;
  /** Signs the SVIDs. */
  readonly certificate: X509Certificate;
  /** Appended after the leaf in every SVID chain: none when self-signed, else the CA and the upstream chain. */
  readonly intermediates: readonly X509Certificate[];
  /** What the bundle publishes: the CA itself when self-signed, else the upstream roots. */
  readonly roots: readonly X509Certificate[];
  /** Hex SKID of the CA certificate. */
  readonly authorityId: string;
  /**
   * When it was made (whole seconds), not the backdated notBefore: rotation times are fractions of
   * the life from here, and 10 s of backdating would bring them forward by a lot on a short CA TTL.
   */
  readonly issuedAt: Date;
  readonly notAfter: Date;
}

export interface CreateX509CaOptions {
  trustDomain: TrustDomain;
  keyManager: KeyManager;
  keyType: KeyType;
  slot: SlotId;
  ttlSeconds: number;
  now: Date;
  upstream?: UpstreamAuthority;
  subject?: SubjectName;
}

function assemble(
  slot: SlotId, key: ManagedKey, certificate: X509Certificate, upstreamChain: readonly X509Certificate[],
  upstreamRoots: readonly X509Certificate[], issuedAt: Date,
): X509Ca {
  const selfSigned = upstreamRoots.length === 0;
  return {
    slot,
    key,
    certificate,
    intermediates: selfSigned ? [] : [certificate, ...upstreamChain],
    roots: selfSigned ? [certificate] : [...upstreamRoots],
    authorityId: authorityIdOf(certificate),
    issuedAt,
    notAfter: notAfterOf(certificate),
  };
}

/** Generates the slot's key (replacing any key there) and gets its certificate signed. */
export async function createX509Ca(o: CreateX509CaOptions): Promise<X509Ca> {
  const issuedAt = new Date(Math.floor(o.now.getTime() / 1000) * 1000);
  const key = await o.keyManager.generateKey(x509KeyId(o.slot), o.keyType);
  if (o.upstream !== undefined) {
    const minted = await o.upstream.mintX509Ca({
      trustDomain: o.trustDomain, publicKey: key.publicKey, ttlSeconds: o.ttlSeconds, now: o.now, subject: o.subject,
    });
    if (!minted.certificate.publicKey.equals(key.publicKey)) {
      throw new CaError(CaErrorCode.upstream, `upstream(${o.upstream.type}) returned a certificate for another key`);
    }
    if (minted.roots.length === 0) throw new CaError(CaErrorCode.upstream, `upstream(${o.upstream.type}) returned no roots`);
    return assemble(o.slot, key, minted.certificate, minted.upstreamChain, minted.roots, issuedAt);
  }
  const { notBefore, notAfter } = validityWindow(o.now, o.ttlSeconds);
  const template = caTemplate({ trustDomain: o.trustDomain, publicKey: key.publicKey, notBefore, notAfter, subject: o.subject });
  return assemble(o.slot, key, await issueCertificate(template, key.signer()), [], [], issuedAt);
}

const b64 = (c: X509Certificate): string => c.raw.toString('base64');

export function x509CaRecord(ca: X509Ca, status: AuthorityStatus): X509CaRecord {
  const selfSigned = ca.intermediates.length === 0;
  return {
    slot: ca.slot,
    keyId: ca.key.id,
    status,
    issuedAt: Math.floor(ca.issuedAt.getTime() / 1000),
    notAfter: Math.floor(ca.notAfter.getTime() / 1000),
    authorityId: ca.authorityId,
    certificate: b64(ca.certificate),
    upstreamChain: ca.intermediates.slice(1).map(b64),
    upstreamRoots: selfSigned ? [] : ca.roots.map(b64),
    keyLocation: ca.key.location,
  };
}

export type Restored<T> = { value: T } | { reason: string };

/**
 * The CA a journal record describes, when it can sign again: its key is still in the KeyManager
 * (a memory key manager forgets it on restart) and is the certificate's key, and the certificate
 * is for this trust domain.
 */
export async function restoreX509Ca(record: X509CaRecord, keyManager: KeyManager, trustDomain: TrustDomain): Promise<Restored<X509Ca>> {
  let certificate: X509Certificate;
  let chain: X509Certificate[];
  let roots: X509Certificate[];
  try {
    const parse = (s: string): X509Certificate => new X509Certificate(Buffer.from(s, 'base64'));
    certificate = parse(record.certificate);
    chain = record.upstreamChain.map(parse);
    roots = record.upstreamRoots.map(parse);
  } catch (err) {
    throw new CaError(CaErrorCode.corrupt, `the journal's X.509 CA ${record.authorityId} holds a certificate that cannot be parsed: ${messageOf(err)}`, {
      cause: err,
    });
  }
  const uris = (certificate.subjectAltName ?? '').split(', ');
  if (!uris.includes(`URI:${trustDomain.idString()}`)) {
    return { reason: `the journal's X.509 CA is not for trust domain "${trustDomain.name}"` };
  }
  const key = await keyManager.getKey(record.keyId);
  if (key === undefined) return { reason: `key ${record.keyId} of the journal's X.509 CA is not in the ${keyManager.type} key manager` };
  if (!key.publicKey.equals(certificate.publicKey)) {
    return { reason: `key ${record.keyId} in the ${keyManager.type} key manager is not the journal's X.509 CA key` };
  }
  return { value: assemble(record.slot, key, certificate, chain, roots, new Date(record.issuedAt * 1000)) };
}
