/**
 * node:tls options from SDS secrets alone, checking peers as Envoy does: the chain must verify
 * against the delivered CAs, and with the SPIFFE certificate validator the CA that vouches for the
 * peer must belong to the trust domain in the peer's SPIFFE ID (a domain vouches only for its own
 * IDs); then the peer's URI SAN must be the SPIFFE ID expected.
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { EnvoySecret } from './envoy-sds-client.js';

export interface TlsMaterial {
  cert: string;
  key: string;
  /** Every CA the validation context trusts (PEM). */
  ca: string[];
  /** With the SPIFFE validator: CAs per trust domain name. Absent for plain trusted_ca. */
  trustDomains: Map<string, X509Certificate[]> | undefined;
}

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

export function tlsMaterial(certificate: EnvoySecret, validation: EnvoySecret): TlsMaterial {
  const t = certificate.tls_certificate;
  const v = validation.validation_context;
  if (!t || !v) throw new Error('need a tls_certificate and a validation_context secret');
  const cert = t.certificate_chain!.inline_bytes!.toString();
  const key = t.private_key!.inline_bytes!.toString();
  const tds = v.custom_validator_config?.typed_config?.trust_domains;
  if (tds !== undefined) {
    const trustDomains = new Map<string, X509Certificate[]>();
    const ca: string[] = [];
    for (const td of tds) {
      const blocks = pemBlocks(td.trust_bundle!.inline_bytes!.toString());
      ca.push(...blocks);
      trustDomains.set(td.name, blocks.map((b) => new X509Certificate(b)));
    }
    return { cert, key, ca, trustDomains };
  }
  return { cert, key, ca: pemBlocks(v.trusted_ca!.inline_bytes!.toString()), trustDomains: undefined };
}

/** The URI SAN of a subjectAltName string as node:crypto and node:tls print it. */
export function uriSan(subjectAltName: string | undefined): string | undefined {
  return subjectAltName?.split(', ').find((s) => s.startsWith('URI:'))?.slice(4);
}

/** The peer's SPIFFE ID once it passes the checks above; throws otherwise. */
export function verifyPeer(socket: TLSSocket, m: TlsMaterial, expected: string): string {
  if (!socket.authorized) throw new Error(`peer not authorized: ${String(socket.authorizationError)}`);
  const leaf = socket.getPeerCertificate(true);
  const id = uriSan(leaf.subjectaltname);
  if (id === undefined) throw new Error('peer certificate has no URI SAN');
  if (m.trustDomains !== undefined) {
    const td = new URL(id).host;
    const cas = m.trustDomains.get(td) ?? [];
    const chain: X509Certificate[] = [];
    const seen = new Set<PeerCertificate>();
    for (let c: PeerCertificate | undefined = leaf; c !== undefined && !seen.has(c); c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate) {
      seen.add(c);
      chain.push(new X509Certificate(c.raw));
    }
    const vouched = chain.some((c) => cas.some((ca) => c.raw.equals(ca.raw) || (c.checkIssued(ca) && c.verify(ca.publicKey))));
    if (!vouched) throw new Error(`no CA of trust domain ${td} vouches for ${id}`);
  }
  if (id !== expected) throw new Error(`peer is ${id}, expected ${expected}`);
  return id;
}
