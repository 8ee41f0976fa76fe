/**
 * What node:crypto's X509Certificate does not expose, read from the DER: names as raw bytes (for
 * byte-exact issuer/subject chaining, as Go compares them), validity as Dates, the SPKI and the
 * extensions SVID rules depend on. Verification and issuance (which copies an issuer's subject and
 * key identifier into what it issues) read certificates through this one reader, so an issuer
 * certificate that verification would refuse is refused when issuing too. Results are cached per
 * certificate object, so a certificate that is verified on every handshake is walked once.
 */
import { X509Certificate } from 'node:crypto';
import {
  children,
  content,
  decodeBitFlags,
  decodeBoolean,
  decodeOid,
  decodeSmallUint,
  decodeTime,
  DerError,
  encoding,
  expectTlv,
  readWhole,
  splitConcatenated,
  Tag,
  type Tlv,
} from './der.js';

/** keyUsage bits (RFC 5280 4.2.1.3), bit n as 1 << n. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  contentCommitment: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const;

export const Oid = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

/** The GeneralName forms (RFC 5280 4.2.1.6); the ones nothing here interprets keep only their tag. */
export type GeneralName =
  | { kind: 'uri'; value: string }
  | { kind: 'dns'; value: string }
  | { kind: 'email'; value: string }
  | { kind: 'ip'; value: Uint8Array }
  | { kind: 'directoryName'; value: Uint8Array }
  | { kind: 'other'; tag: number };

export interface NameConstraints {
  critical: boolean;
  permitted: GeneralName[];
  excluded: GeneralName[];
}

export interface CertInfo {
  /** 1, 2 or 3. */
  version: number;
  /** Full DER encodings of the Name fields. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Full DER encoding of the SubjectPublicKeyInfo. */
  subjectPublicKeyInfo: Uint8Array;
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** Absent when the certificate has no keyUsage extension (which is not the same as no bits). */
  keyUsage?: number;
  extKeyUsage?: string[];
  subjectAltNames: GeneralName[];
  nameConstraints?: NameConstraints;
  subjectKeyId?: Uint8Array;
  authorityKeyId?: Uint8Array;
  /** OIDs of critical extensions this module does not interpret; a verifier must reject them. */
  unhandledCritical: string[];
}

const cache = new WeakMap<X509Certificate, CertInfo>();

/** The extension view of a certificate; throws DerError when its DER is malformed. */
export function certInfo(cert: X509Certificate): CertInfo {
  let info = cache.get(cert);
  if (info === undefined) {
    info = parseCertInfo(cert.raw);
    cache.set(cert, info);
  }
  return info;
}

/** Concatenated DER certificates (the Workload API's encoding), each checked as parseCertificate does. */
export function parseCertificates(der: Uint8Array): X509Certificate[] {
  let parts: Uint8Array[];
  try {
    parts = splitConcatenated(der, Tag.SEQUENCE, 'Certificate');
  } catch (err) {
    if (err instanceof DerError) throw new DerError(`malformed certificate: ${err.message}`);
    throw err;
  }
  return parts.map(parseCertificate);
}

/**
 * One DER certificate as an X509Certificate, checked by this module's reader first: OpenSSL is
 * lenient about some encodings (and would take PEM text too), and a certificate whose extensions
 * cannot be read must be refused at parse time, as Go's parser does.
 */
export function parseCertificate(der: Uint8Array): X509Certificate {
  // A private copy, so the cached views do not pin a larger buffer this was cut from.
  const own = Buffer.from(der);
  const info = parseCertInfo(own);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(own);
  } catch {
    throw new DerError('malformed certificate: rejected by the X.509 parser');
  }
  cache.set(cert, info);
  return cert;
}

/** Throws DerError `malformed certificate: <what was wrong>`. */
export function parseCertInfo(der: Uint8Array): CertInfo {
  try {
    return readCertInfo(der);
  } catch (err) {
    if (err instanceof DerError) throw new DerError(`malformed certificate: ${err.message}`);
    throw err;
  }
}

function readCertInfo(der: Uint8Array): CertInfo {
  const certificate = readWhole(der, Tag.SEQUENCE, 'Certificate');
  const [tbs, sigAlg, sig, ...rest] = children(der, certificate);
  if (tbs?.tag !== Tag.SEQUENCE || sigAlg?.tag !== Tag.SEQUENCE || sig?.tag !== Tag.BIT_STRING || rest.length > 0) {
    throw new DerError('unexpected Certificate structure');
  }
  const fields = children(der, tbs);
  let i = 0;
  let version = 1;
  if (fields[i]?.tag === 0xa0) {
    const v = expectTlv(der, Tag.INTEGER, fields[i]!.contentStart, fields[i]!.end, 'version');
    version = decodeSmallUint(content(der, v)) + 1;
    i++;
  }
  const [serial, , issuer, validity, subject, spki] = fields.slice(i, i + 6);
  if (
    serial?.tag !== Tag.INTEGER ||
    issuer?.tag !== Tag.SEQUENCE ||
    validity?.tag !== Tag.SEQUENCE ||
    subject?.tag !== Tag.SEQUENCE ||
    spki?.tag !== Tag.SEQUENCE
  ) {
    throw new DerError('unexpected TBSCertificate structure');
  }
  const times = children(der, validity);
  if (times.length !== 2) throw new DerError('malformed validity');
  const info: CertInfo = {
    version,
    issuer: encoding(der, issuer),
    subject: encoding(der, subject),
    notBefore: decodeTime(times[0]!, content(der, times[0]!)),
    notAfter: decodeTime(times[1]!, content(der, times[1]!)),
    subjectPublicKeyInfo: encoding(der, spki),
    subjectAltNames: [],
    unhandledCritical: [],
  };
  const extensions = fields.slice(i + 6).find((f) => f.tag === 0xa3);
  if (extensions !== undefined) readExtensions(der, extensions, info);
  return info;
}

function readExtensions(der: Uint8Array, wrapper: Tlv, info: CertInfo): void {
  const list = expectTlv(der, Tag.SEQUENCE, wrapper.contentStart, wrapper.end, 'extensions');
  const seen = new Set<string>();
  for (const ext of children(der, list)) {
    const parts = children(der, ext);
    const id = parts[0];
    if (id?.tag !== Tag.OID) throw new DerError('malformed extension');
    const oid = decodeOid(content(der, id));
    let critical = false;
    let valueTlv = parts[1];
    if (valueTlv?.tag === Tag.BOOLEAN) {
      critical = decodeBoolean(content(der, valueTlv));
      valueTlv = parts[2];
    }
    if (valueTlv?.tag !== Tag.OCTET_STRING) throw new DerError(`malformed extension ${oid}`);
    // RFC 5280 4.2: at most one instance of an extension; two could disagree.
    if (seen.has(oid)) throw new DerError(`duplicate extension ${oid}`);
    seen.add(oid);
    const value = content(der, valueTlv);
    if (!readExtension(oid, value, critical, info) && critical) info.unhandledCritical.push(oid);
  }
}

/** Fills `info` from one extension; false when the extension is not one this module interprets. */
function readExtension(oid: string, value: Uint8Array, critical: boolean, info: CertInfo): boolean {
  switch (oid) {
    case Oid.basicConstraints: {
      const seq = readWhole(value, Tag.SEQUENCE, 'basicConstraints');
      const bc: { ca: boolean; pathLen?: number } = { ca: false };
      for (const f of children(value, seq)) {
        if (f.tag === Tag.BOOLEAN) bc.ca = decodeBoolean(content(value, f));
        else if (f.tag === Tag.INTEGER) bc.pathLen = decodeSmallUint(content(value, f));
        else throw new DerError('malformed basicConstraints');
      }
      info.basicConstraints = bc;
      return true;
    }
    case Oid.keyUsage:
      info.keyUsage = decodeBitFlags(content(value, readWhole(value, Tag.BIT_STRING, 'keyUsage')));
      return true;
    case Oid.extKeyUsage: {
      const seq = readWhole(value, Tag.SEQUENCE, 'extKeyUsage');
      info.extKeyUsage = children(value, seq).map((f) => {
        if (f.tag !== Tag.OID) throw new DerError('malformed extKeyUsage');
        return decodeOid(content(value, f));
      });
      return true;
    }
    case Oid.subjectAltName: {
      const seq = readWhole(value, Tag.SEQUENCE, 'subjectAltName');
      info.subjectAltNames = children(value, seq).map((f) => generalName(value, f));
      return true;
    }
    case Oid.nameConstraints:
      info.nameConstraints = nameConstraints(value, critical);
      return true;
    case Oid.subjectKeyIdentifier:
      info.subjectKeyId = content(value, readWhole(value, Tag.OCTET_STRING, 'subjectKeyIdentifier'));
      return true;
    case Oid.authorityKeyIdentifier: {
      const seq = readWhole(value, Tag.SEQUENCE, 'authorityKeyIdentifier');
      const keyId = children(value, seq).find((f) => f.tag === 0x80);
      if (keyId !== undefined) info.authorityKeyId = content(value, keyId);
      return true;
    }
    default:
      return false;
  }
}

function generalName(buf: Uint8Array, tlv: Tlv): GeneralName {
  switch (tlv.tag) {
    case 0x81:
      return { kind: 'email', value: ia5(buf, tlv, 'rfc822Name') };
    case 0x82:
      return { kind: 'dns', value: ia5(buf, tlv, 'dNSName') };
    case 0x86:
      return { kind: 'uri', value: ia5(buf, tlv, 'uniformResourceIdentifier') };
    case 0x87:
      return { kind: 'ip', value: content(buf, tlv) };
    case 0xa4:
      return { kind: 'directoryName', value: content(buf, tlv) };
    default:
      return { kind: 'other', tag: tlv.tag };
  }
}

function ia5(buf: Uint8Array, tlv: Tlv, what: string): string {
  const bytes = content(buf, tlv);
  for (const b of bytes) if (b > 0x7f) throw new DerError(`${what} is not an IA5String`);
  return Buffer.from(bytes).toString('latin1');
}

function nameConstraints(value: Uint8Array, critical: boolean): NameConstraints {
  const seq = readWhole(value, Tag.SEQUENCE, 'nameConstraints');
  const nc: NameConstraints = { critical, permitted: [], excluded: [] };
  for (const f of children(value, seq)) {
    const target = f.tag === 0xa0 ? nc.permitted : f.tag === 0xa1 ? nc.excluded : undefined;
    if (target === undefined) throw new DerError('malformed nameConstraints');
    for (const subtree of children(value, f)) {
      if (subtree.tag !== Tag.SEQUENCE) throw new DerError('malformed nameConstraints');
      const base = children(value, subtree)[0];
      if (base === undefined) throw new DerError('malformed nameConstraints');
      // minimum/maximum must be 0/absent (RFC 5280 4.2.1.10); nothing here reads them.
      target.push(generalName(value, base));
    }
  }
  return nc;
}

export interface SpkiParts {
  /** The algorithm OBJECT IDENTIFIER, whole encoding. */
  algorithm: Buffer;
  /** The algorithm parameters, whole encoding, if present. */
  parameters: Buffer | undefined;
  /** The subjectPublicKey BIT STRING contents after the unused-bits byte (which must be 0). */
  publicKey: Buffer;
}

/** Splits a SubjectPublicKeyInfo into its algorithm and key bits (views, not copies); nothing may follow it. */
export function readSpki(spkiDer: Uint8Array): SpkiParts {
  const der = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength);
  const spki = readWhole(der, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  const [alg, bits, ...rest] = children(der, spki);
  if (alg?.tag !== Tag.SEQUENCE) throw new DerError('expected AlgorithmIdentifier');
  if (bits?.tag !== Tag.BIT_STRING) throw new DerError('expected subjectPublicKey');
  if (rest.length > 0) throw new DerError('unexpected bytes in SubjectPublicKeyInfo');
  const [id, params, ...more] = children(der, alg);
  if (id?.tag !== Tag.OID) throw new DerError('expected algorithm');
  if (more.length > 0) throw new DerError('unexpected bytes in AlgorithmIdentifier');
  if (bits.end - bits.contentStart < 2 || der[bits.contentStart] !== 0) throw new DerError('malformed subjectPublicKey');
  return {
    algorithm: der.subarray(id.start, id.end),
    parameters: params === undefined ? undefined : der.subarray(params.start, params.end),
    publicKey: der.subarray(bits.contentStart + 1, bits.end),
  };
}
