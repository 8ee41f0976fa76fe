/**
 * The EK certificate: who made the TPM. It must chain to a manufacturer CA the operator trusts (any
 * certificate in the configured bundles is a trust anchor, intermediates included, as with Go's
 * root pools), and it names the TPM manufacturer in its subject alternative name (TCG EK Credential
 * Profile: a directoryName with tcg-at-tpmManufacturer 2.23.133.2.1, e.g. "id:00001014").
 */
import type { X509Certificate } from 'node:crypto';
import { parsePemCertificates } from '../../../spiffe/bundle/certificates.js';
import { children, content, decodeOid, readTlv, Tag, type Tlv } from '../../../spiffe/internal/der.js';

const TPM_MANUFACTURER_OID = '2.23.133.2.1';

/** The certificates of a PEM bundle, framed strictly (spiffe/bundle); one with no certificate is an error. */
export function parsePemBundle(pem: string): X509Certificate[] {
  const certs = parsePemCertificates(pem);
  if (certs.length === 0) throw new Error('it holds no CERTIFICATE block');
  return certs;
}

/**
 * Why `leaf` does not chain to `anchors` at `now`, or undefined when it does. The chain is built
 * through the anchors only: EK certificates come from the TPM's NV alone, without intermediates.
 */
export function chainProblem(leaf: X509Certificate, anchors: readonly X509Certificate[], now: Date): string | undefined {
  const valid = (c: X509Certificate): boolean => new Date(c.validFrom) <= now && now <= new Date(c.validTo);
  if (!valid(leaf)) return `the EK certificate is not valid at ${now.toISOString()} (valid ${leaf.validFrom} to ${leaf.validTo})`;
  // A CA certificate re-issued for the same key may sit beside its expired predecessor: either will do.
  const issuers = anchors.filter((a) => a.ca && leaf.checkIssued(a) && leaf.verify(a.publicKey));
  if (issuers.length === 0) return `the EK certificate (issuer ${oneLine(leaf.issuer)}) is not signed by any configured manufacturer CA`;
  if (!issuers.some(valid)) return `the EK certificate's issuer ${oneLine(issuers[0]!.subject)} is not valid at ${now.toISOString()}`;
  return undefined;
}

function oneLine(dn: string): string {
  return dn.replace(/\n/g, ', ');
}

/** The CN of the certificate's issuer, or undefined. */
export function issuerCommonName(cert: X509Certificate): string | undefined {
  return cert.issuer.split('\n').find((l) => l.startsWith('CN='))?.slice(3);
}

/** The TPM manufacturer from the certificate's SAN directoryName, e.g. "id:00001014", or undefined. */
export function tpmManufacturer(cert: X509Certificate): string | undefined {
  try {
    return findAttribute(cert.raw, readTlv(cert.raw), 0);
  } catch {
    // A certificate whose extensions cannot be walked names no manufacturer; the chain check already
    // decided whether it is trusted, so this only loses a selector.
    return undefined;
  }
}

/** Depth-first search for SEQUENCE { OID 2.23.133.2.1, string }, looking inside OCTET STRING extension values. */
function findAttribute(buf: Uint8Array, tlv: Tlv, depth: number): string | undefined {
  if (depth > 12) return undefined;
  if (tlv.tag === Tag.OCTET_STRING) {
    const inner = content(buf, tlv);
    if (inner.length < 2 || (inner[0]! & 0x20) === 0) return undefined;
    return findAttribute(inner, readTlv(inner), depth + 1);
  }
  if ((tlv.tag & 0x20) === 0) return undefined;
  const kids = children(buf, tlv);
  if (tlv.tag === Tag.SEQUENCE && kids.length === 2 && kids[0]!.tag === Tag.OID && decodeOid(content(buf, kids[0]!)) === TPM_MANUFACTURER_OID) {
    return Buffer.from(content(buf, kids[1]!)).toString('utf8');
  }
  for (const k of kids) {
    const found = findAttribute(buf, k, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}
