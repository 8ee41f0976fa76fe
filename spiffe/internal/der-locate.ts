/**
 * Finds the few fields of an issuer certificate that issuance copies or derives (the subject Name
 * bytes, copied verbatim into issued certificates so RFC 5280 name chaining matches byte for byte;
 * the validity; the SubjectPublicKeyInfo; the subject key identifier), and splits an SPKI.
 *
 * Deliberately not a general DER reader: it walks one known structure and stops. The input has
 * already been parsed by node:crypto's X509Certificate, so this only has to be right, not forgiving.
 */
import { DerError, Tag } from './der-writer.js';

interface Element {
  tag: number;
  /** First byte of the tag. */
  start: number;
  /** First byte of the contents. */
  body: number;
  /** One past the last byte of the contents. */
  end: number;
}

function element(der: Uint8Array, at: number, limit: number): Element {
  if (at + 2 > limit) throw new DerError('truncated element');
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not supported');
  let len = der[at + 1]!;
  let body = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || body + n > limit) throw new DerError('unsupported length encoding');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[body++]!;
  }
  if (body + len > limit) throw new DerError('element overruns its container');
  return { tag, start: at, body, end: body + len };
}

function expect(der: Uint8Array, at: number, limit: number, tag: number, what: string): Element {
  const el = element(der, at, limit);
  if (el.tag !== tag) throw new DerError(`expected ${what}`);
  return el;
}

const DIGITS = /^\d+$/;

function readTime(der: Uint8Array, el: Element): Date {
  const text = Buffer.from(der.subarray(el.body, el.end)).toString('latin1');
  const digits = el.tag === Tag.UTC_TIME ? 12 : 14;
  if ((el.tag !== Tag.UTC_TIME && el.tag !== Tag.GENERALIZED_TIME) || text.length !== digits + 1 ||
    !text.endsWith('Z') || !DIGITS.test(text.slice(0, digits))) {
    throw new DerError('unsupported certificate time');
  }
  let year: number;
  let rest: string;
  if (el.tag === Tag.UTC_TIME) {
    const yy = Number(text.slice(0, 2));
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    rest = text.slice(2);
  } else {
    year = Number(text.slice(0, 4));
    rest = text.slice(4);
  }
  const n = (i: number): number => Number(rest.slice(i, i + 2));
  const d = new Date(Date.UTC(year, n(0) - 1, n(2), n(4), n(6), n(8)));
  d.setUTCFullYear(year); // Date.UTC maps years 0..99 to 19xx.
  return d;
}

export interface IssuerFields {
  /** The subject Name, whole encoding (tag and length included). */
  subject: Buffer;
  subjectPublicKeyInfo: Buffer;
  notBefore: Date;
  notAfter: Date;
  /** Contents of the subjectKeyIdentifier extension, if the certificate has one. */
  subjectKeyId: Buffer | undefined;
}

const SKI_OID = Buffer.from([0x55, 0x1d, 0x0e]); // 2.5.29.14

/** Reads the issuer-side fields of a DER Certificate. */
export function locateIssuerFields(cert: Uint8Array): IssuerFields {
  const der = Buffer.from(cert.buffer, cert.byteOffset, cert.byteLength);
  const outer = expect(der, 0, der.length, Tag.SEQUENCE, 'Certificate');
  const tbs = expect(der, outer.body, outer.end, Tag.SEQUENCE, 'TBSCertificate');
  let at = tbs.body;
  let el = element(der, at, tbs.end);
  if (el.tag === 0xa0) el = element(der, (at = el.end), tbs.end); // version
  if (el.tag !== Tag.INTEGER) throw new DerError('expected serialNumber');
  at = expect(der, el.end, tbs.end, Tag.SEQUENCE, 'signature').end;
  at = expect(der, at, tbs.end, Tag.SEQUENCE, 'issuer').end;
  const validity = expect(der, at, tbs.end, Tag.SEQUENCE, 'validity');
  const nb = element(der, validity.body, validity.end);
  const na = element(der, nb.end, validity.end);
  const subject = expect(der, validity.end, tbs.end, Tag.SEQUENCE, 'subject');
  const spki = expect(der, subject.end, tbs.end, Tag.SEQUENCE, 'subjectPublicKeyInfo');
  let subjectKeyId: Buffer | undefined;
  for (at = spki.end; at < tbs.end; ) {
    el = element(der, at, tbs.end);
    at = el.end;
    if (el.tag === 0xa3) subjectKeyId = findSubjectKeyId(der, el);
  }
  return {
    subject: Buffer.from(der.subarray(subject.start, subject.end)),
    subjectPublicKeyInfo: Buffer.from(der.subarray(spki.start, spki.end)),
    notBefore: readTime(der, nb),
    notAfter: readTime(der, na),
    subjectKeyId,
  };
}

function findSubjectKeyId(der: Buffer, explicitExts: Element): Buffer | undefined {
  const exts = expect(der, explicitExts.body, explicitExts.end, Tag.SEQUENCE, 'Extensions');
  for (let at = exts.body; at < exts.end; ) {
    const ext = expect(der, at, exts.end, Tag.SEQUENCE, 'Extension');
    at = ext.end;
    const id = expect(der, ext.body, ext.end, Tag.OID, 'extnID');
    if (!der.subarray(id.body, id.end).equals(SKI_OID)) continue;
    let value = element(der, id.end, ext.end);
    if (value.tag === Tag.BOOLEAN) value = element(der, value.end, ext.end);
    if (value.tag !== Tag.OCTET_STRING) throw new DerError('expected extnValue');
    const keyId = expect(der, value.body, value.end, Tag.OCTET_STRING, 'SubjectKeyIdentifier');
    return Buffer.from(der.subarray(keyId.body, keyId.end));
  }
  return undefined;
}

export interface SpkiParts {
  /** The algorithm OBJECT IDENTIFIER, whole encoding. */
  algorithm: Buffer;
  /** The algorithm parameters, whole encoding, if present. */
  parameters: Buffer | undefined;
  /** The subjectPublicKey BIT STRING contents after the unused-bits byte (which must be 0). */
  publicKey: Buffer;
}

/** Splits a SubjectPublicKeyInfo into its algorithm and key bits; nothing may follow it. */
export function readSpki(spkiDer: Uint8Array): SpkiParts {
  const der = Buffer.from(spkiDer.buffer, spkiDer.byteOffset, spkiDer.byteLength);
  const spki = expect(der, 0, der.length, Tag.SEQUENCE, 'SubjectPublicKeyInfo');
  const alg = expect(der, spki.body, spki.end, Tag.SEQUENCE, 'AlgorithmIdentifier');
  const id = expect(der, alg.body, alg.end, Tag.OID, 'algorithm');
  const params = id.end < alg.end ? element(der, id.end, alg.end) : undefined;
  const bits = expect(der, alg.end, spki.end, Tag.BIT_STRING, 'subjectPublicKey');
  if (spki.end !== der.length || bits.end !== spki.end || (params !== undefined && params.end !== alg.end)) {
    throw new DerError('unexpected bytes in SubjectPublicKeyInfo');
  }
  if (bits.end - bits.body < 2 || der[bits.body] !== 0) throw new DerError('malformed subjectPublicKey');
  return {
    algorithm: der.subarray(id.start, id.end),
    parameters: params === undefined ? undefined : der.subarray(params.start, params.end),
    publicKey: der.subarray(bits.body + 1, bits.end),
  };
}

/** The subjectPublicKey BIT STRING contents (after the unused-bits byte) of an SPKI. */
export function subjectPublicKeyBits(spkiDer: Uint8Array): Buffer {
  return readSpki(spkiDer).publicKey;
}
