/**
 * The names an X.509-SVID carries for its subject: the subject Name (X-3, kept for peers that still
 * read it) and the subjectAltName, whose URI is the SPIFFE ID and whose DNS and IP entries
 * let TLS clients that know nothing of SPIFFE check the host they dialled.
 */
import * as der from '../internal/der-writer.js';
import { parseIP } from '../internal/ip.js';
import type { SpiffeId } from '../spiffeid/index.js';
import { X509ProfileError } from './profile-errors.js';

/** Subject attributes, encoded in Go's pkix order (C, O, OU, CN, serialNumber) like SPIRE's. */
export interface SubjectName {
  /** ISO 3166 alpha-2, e.g. "US". */
  country?: string;
  organization?: string;
  organizationalUnit?: string;
  commonName?: string;
  serialNumber?: string;
}

/** Leaf default; SPIRE's is C=US, O=SPIRE. */
export const DEFAULT_LEAF_SUBJECT: Readonly<SubjectName> = Object.freeze({ country: 'US', organization: 'SIGIL' });
/** CA default; the certificate's serial is added as the subject serialNumber, as SPIRE does. */
export const DEFAULT_CA_SUBJECT: Readonly<SubjectName> = Object.freeze({ country: 'US', organization: 'SIGIL' });

// [field, attribute type OID, upper bound (RFC 5280 A.1)]; country and serialNumber are
// PrintableString by definition, the rest DirectoryString as UTF8String (RFC 5280 4.1.2.4).
const NAME_ATTRIBUTES: ReadonlyArray<readonly [keyof SubjectName, string, number]> = [
  ['country', '2.5.4.6', 2],
  ['organization', '2.5.4.10', 64],
  ['organizationalUnit', '2.5.4.11', 64],
  ['commonName', '2.5.4.3', 64],
  ['serialNumber', '2.5.4.5', 64],
];

/** The DER Name; an empty subject encodes as an empty SEQUENCE (2 bytes). */
export function encodeName(name: SubjectName): Buffer {
  const rdns: Buffer[] = [];
  for (const [field, type, max] of NAME_ATTRIBUTES) {
    const v = name[field];
    if (v === undefined) continue;
    const printable = field === 'country' || field === 'serialNumber';
    const ok = (field === 'country' ? /^[A-Z]{2}$/.test(v) : v.length > 0 && [...v].length <= max) &&
      (!printable || der.isPrintableString(v));
    if (!ok) throw new X509ProfileError(`invalid subject ${field} "${v}"`);
    const value = printable ? der.printableString(v) : der.utf8String(v);
    rdns.push(der.setOf(der.sequence(der.oid(type), value)));
  }
  return der.constructed(der.Tag.SEQUENCE, rdns);
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function checkDnsName(name: string): void {
  const labels = name.split('.');
  const ok = name.length > 0 && name.length <= 253 &&
    labels.every((l, i) => DNS_LABEL.test(l) || (i === 0 && l === '*' && labels.length > 1));
  if (!ok) throw new X509ProfileError(`invalid DNS name "${name}"`);
}

/**
 * The iPAddress octets for an IP literal: 4 for IPv4, 16 for IPv6 text (an IPv4-mapped address
 * stays 16, as written). Zones are refused: a certificate cannot scope an address to a link.
 */
export function ipAddressOctets(text: string): Uint8Array {
  const octets = parseIP(text);
  if (octets === undefined) throw new X509ProfileError(`invalid IP address "${text}"`);
  return octets;
}

/** The subjectAltName value: the URI SAN, then DNS names, then IP addresses (already checked). */
export function encodeSubjectAltName(
  id: SpiffeId, dnsNames: readonly string[], ipAddresses: readonly Uint8Array[],
): Buffer {
  const names = [der.implicitPrimitive(6, der.ia5Bytes(id.toString()))]; // uniformResourceIdentifier
  for (const d of dnsNames) names.push(der.implicitPrimitive(2, der.ia5Bytes(d))); // dNSName
  for (const ip of ipAddresses) names.push(der.implicitPrimitive(7, ip)); // iPAddress
  return der.constructed(der.Tag.SEQUENCE, names);
}
