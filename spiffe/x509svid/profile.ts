/**
 * The X.509-SVID certificate profile (X509-SVID.md section 4, RFC 5280) and issuance.
 *
 * Issuance is split in three so the signing key can live anywhere: a template is built and
 * encoded to DER here (sync, pure), a Signer signs the TBSCertificate bytes, and the signature is
 * wrapped into the Certificate here (sync). issueCertificate runs the three steps for one
 * certificate; a batching caller can run encodeTbs / assembleCertificate itself.
 */
import { X509Certificate, randomBytes, type KeyObject } from 'node:crypto';
import { Status, messageOf } from '../errors.js';
import { locateIssuerFields } from '../internal/der-locate.js';
import * as der from '../internal/der-writer.js';
import { SpiffeId, type TrustDomain } from '../spiffeid/index.js';
import { X509ProfileError } from './profile-errors.js';
import {
  algorithmIdentifier, isDerEcdsaSignature, isEcdsa, publicKeyFrom, publicKeyObject, signatureAlgorithmFor,
  subjectKeyIdentifier, type PublicKeyInput, type SignatureAlgorithm, type Signer,
} from './signer.js';

/** Subject attributes, encoded in Go's pkix order (C, O, OU, CN, serialNumber) like SPIRE's. */
export interface SubjectName {
  /** ISO 3166 alpha-2, e.g. "US". */
  country?: string;
  organization?: string;
  organizationalUnit?: string;
  commonName?: string;
  serialNumber?: string;
}

/** notBefore is set this far before "now" so peers with a slow clock accept a fresh SVID (SPIRE's cushion). */
export const BACKDATE_SECONDS = 10;

/** Leaf default; SPIRE's is C=US, O=SPIRE. */
export const DEFAULT_LEAF_SUBJECT: Readonly<SubjectName> = Object.freeze({ country: 'US', organization: 'SIGIL' });
/** CA default; the certificate's serial is added as the subject serialNumber, as SPIRE does. */
export const DEFAULT_CA_SUBJECT: Readonly<SubjectName> = Object.freeze({ country: 'US', organization: 'SIGIL' });

export interface TemplateExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue contents (the DER of the extension's own value). */
  readonly value: Buffer;
}

/** Everything in a TBSCertificate except the signature algorithm, already checked and encoded. */
export interface CertificateTemplate {
  readonly isCA: boolean;
  /** The leaf's SPIFFE ID, or the trust domain ID for a CA. */
  readonly id: SpiffeId;
  /** Positive serial, minimal big-endian magnitude (hex of it equals X509Certificate.serialNumber). */
  readonly serial: Buffer;
  readonly issuerName: Buffer;
  readonly subjectName: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly subjectPublicKeyInfo: Buffer;
  readonly subjectKeyId: Buffer;
  readonly authorityKeyId: Buffer | undefined;
  /** The key the signature must verify with: the issuer's, or the subject's own when self-signed. */
  readonly issuerPublicKey: KeyObject;
  /** The algorithm that issuer key signs with; a Signer must use exactly this one. */
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly extensions: readonly TemplateExtension[];
}

export interface LeafTemplateOptions {
  id: SpiffeId;
  publicKey: PublicKeyInput;
  /** The issuing CA certificate: source of the issuer name, the AKI and the notAfter bound. */
  issuer: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  /** Defaults to a fresh newSerial(). */
  serial?: Uint8Array;
  /** Added as DNS SANs after the URI SAN; the first also becomes the CN unless subject sets one. */
  dnsNames?: readonly string[];
  /** Defaults to DEFAULT_LEAF_SUBJECT. `{}` with no DNS names gives an empty subject (SAN then critical). */
  subject?: SubjectName;
}

export interface CaTemplateOptions {
  trustDomain: TrustDomain;
  publicKey: PublicKeyInput;
  /** The parent CA; absent for a self-signed root. */
  issuer?: X509Certificate;
  notBefore: Date;
  notAfter: Date;
  serial?: Uint8Array;
  /** Defaults to DEFAULT_CA_SUBJECT; serialNumber defaults to the certificate serial in decimal. */
  subject?: SubjectName;
  /** basicConstraints pathLenConstraint; absent = unconstrained (X-10 makes it optional). */
  maxPathLen?: number;
}

const OID = {
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const KU = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;

const encodedExtensions = new WeakMap<TemplateExtension, Buffer>();

function encodeExtension(e: TemplateExtension): Buffer {
  const hit = encodedExtensions.get(e);
  if (hit !== undefined) return hit;
  // critical is DEFAULT FALSE: DER leaves it out unless true.
  const parts = [der.oid(e.oid), ...(e.critical ? [der.boolean(true)] : []), der.octetString(e.value)];
  return der.constructed(der.Tag.SEQUENCE, parts);
}

/** An extension shared by many templates: encoded once, the encoding reused by every TBS. */
function sharedExtension(oid: string, critical: boolean, value: Buffer): TemplateExtension {
  const e = Object.freeze({ oid, critical, value });
  encodedExtensions.set(e, encodeExtension(e));
  return e;
}

const LEAF_BASIC_CONSTRAINTS = sharedExtension(OID.basicConstraints, true, der.sequence()); // cA DEFAULT FALSE
const LEAF_KEY_USAGE_EC = sharedExtension(OID.keyUsage, true, der.namedBitString([KU.digitalSignature]));
const LEAF_KEY_USAGE_RSA = sharedExtension(
  OID.keyUsage, true, der.namedBitString([KU.digitalSignature, KU.keyEncipherment]));
const LEAF_EXT_KEY_USAGE = sharedExtension(
  OID.extKeyUsage, false, der.sequence(der.oid(OID.serverAuth), der.oid(OID.clientAuth)));
const CA_KEY_USAGE = sharedExtension(OID.keyUsage, true, der.namedBitString([KU.keyCertSign, KU.cRLSign]));
const VERSION_3 = der.explicit(0, der.integer(2));

// [field, attribute type OID, upper bound (RFC 5280 A.1)]; country and serialNumber are
// PrintableString by definition, the rest DirectoryString as UTF8String (RFC 5280 4.1.2.4).
const NAME_ATTRIBUTES: ReadonlyArray<readonly [keyof SubjectName, string, number]> = [
  ['country', '2.5.4.6', 2],
  ['organization', '2.5.4.10', 64],
  ['organizationalUnit', '2.5.4.11', 64],
  ['commonName', '2.5.4.3', 64],
  ['serialNumber', '2.5.4.5', 64],
];

function encodeName(name: SubjectName): Buffer {
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

interface IssuerInfo {
  name: Buffer;
  publicKey: KeyObject;
  algorithm: SignatureAlgorithm;
  notAfter: Date;
  trustDomain: string | undefined;
  keyId: Buffer;
  aki: TemplateExtension;
}

// A CA issues thousands of leaves; read its certificate once, not per leaf.
const issuers = new WeakMap<X509Certificate, IssuerInfo>();

function issuerInfo(issuer: X509Certificate): IssuerInfo {
  const hit = issuers.get(issuer);
  if (hit !== undefined) return hit;
  if (!issuer.ca) throw new X509ProfileError('issuer certificate is not a CA');
  let fields;
  try {
    fields = locateIssuerFields(issuer.raw);
  } catch (err) {
    throw new X509ProfileError(`cannot read issuer certificate: ${messageOf(err)}`, { cause: err });
  }
  const keyId = fields.subjectKeyId ?? subjectKeyIdentifier(fields.subjectPublicKeyInfo);
  const info: IssuerInfo = {
    name: fields.subject,
    publicKey: issuer.publicKey,
    algorithm: signatureAlgorithmFor(issuer.publicKey),
    notAfter: fields.notAfter,
    trustDomain: spiffeTrustDomainOf(issuer),
    keyId,
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING, … }
    aki: sharedExtension(OID.authorityKeyId, false, der.sequence(der.implicitPrimitive(0, keyId))),
  };
  issuers.set(issuer, info);
  return info;
}

function spiffeTrustDomainOf(cert: X509Certificate): string | undefined {
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    if (entry.startsWith('URI:spiffe://')) return SpiffeId.tryParse(entry.slice(4))?.trustDomain.name;
  }
  return undefined;
}

function checkIssuerTrustDomain(issuer: IssuerInfo, td: TrustDomain): void {
  // a signing certificate's SPIFFE ID, when it has one, is its trust domain's ID.
  if (issuer.trustDomain !== undefined && issuer.trustDomain !== td.name) {
    throw new X509ProfileError(`issuer belongs to trust domain "${issuer.trustDomain}", not "${td.name}"`);
  }
}

let serialPool = Buffer.alloc(0);
let serialAt = 0;

/** A random positive 127-bit serial (top bit cleared, never zero), minimal magnitude. */
export function newSerial(): Buffer {
  for (;;) {
    // One randomBytes call per 256 serials: the per-call cost dominates at 16 bytes.
    if (serialAt + 16 > serialPool.length) {
      serialPool = randomBytes(4096);
      serialAt = 0;
    }
    const raw = serialPool.subarray(serialAt, (serialAt += 16));
    raw[0] &= 0x7f;
    let i = 0;
    while (i < 16 && raw[i] === 0) i++;
    if (i < 16) return Buffer.from(raw.subarray(i));
  }
}

function checkSerial(serial: Uint8Array | undefined): Buffer {
  if (serial === undefined) return newSerial();
  let i = 0;
  while (i < serial.length && serial[i] === 0) i++;
  const m = Buffer.from(serial.subarray(i));
  if (m.length === 0) throw new X509ProfileError('serial number must be positive');
  if (m.length > 20 || (m.length === 20 && m[0]! >= 0x80)) {
    throw new X509ProfileError('serial number must fit in 20 octets (RFC 5280 4.1.2.2)');
  }
  return m;
}

function wholeSeconds(d: Date, what: string): Date {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms)) throw new X509ProfileError(`${what} is not a valid date`);
  return new Date(Math.floor(ms / 1000) * 1000);
}

function checkValidity(notBefore: Date, notAfter: Date, issuerNotAfter?: Date): [Date, Date] {
  const nb = wholeSeconds(notBefore, 'notBefore');
  const na = wholeSeconds(notAfter, 'notAfter');
  if (na <= nb) throw new X509ProfileError('notAfter must be later than notBefore');
  if (issuerNotAfter !== undefined && na > issuerNotAfter) {
    throw new X509ProfileError(
      `notAfter ${na.toISOString()} is after the issuer's notAfter ${issuerNotAfter.toISOString()}`);
  }
  return [nb, na];
}

export interface ValidityWindow {
  notBefore: Date;
  notAfter: Date;
}

/**
 * notBefore = now − BACKDATE_SECONDS, notAfter = min(now + ttl, cap), in whole seconds (what the
 * certificate will hold). Pass the issuer's notAfter as the cap: an SVID must not outlive its CA.
 */
export function validityWindow(now: Date, ttlSeconds: number, options: { notAfterCap?: Date } = {}): ValidityWindow {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1) {
    throw new X509ProfileError(`TTL must be at least 1 second, got ${ttlSeconds}`);
  }
  const start = wholeSeconds(now, 'now').getTime();
  let end = start + Math.floor(ttlSeconds) * 1000;
  if (options.notAfterCap !== undefined) end = Math.min(end, wholeSeconds(options.notAfterCap, 'notAfterCap').getTime());
  if (end <= start) {
    throw new X509ProfileError(`validity window is empty: notAfter cap ${new Date(end).toISOString()} is not after now`, {
      status: Status.FAILED_PRECONDITION,
    });
  }
  return { notBefore: new Date(start - BACKDATE_SECONDS * 1000), notAfter: new Date(end) };
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

function checkDnsName(name: string): void {
  const labels = name.split('.');
  const ok = name.length > 0 && name.length <= 253 &&
    labels.every((l, i) => DNS_LABEL.test(l) || (i === 0 && l === '*' && labels.length > 1));
  if (!ok) throw new X509ProfileError(`invalid DNS name "${name}"`);
}

function sanExtension(id: SpiffeId, dnsNames: readonly string[], subjectEmpty: boolean): TemplateExtension {
  const names = [der.implicitPrimitive(6, der.ia5Bytes(id.toString()))]; // uniformResourceIdentifier
  for (const d of dnsNames) names.push(der.implicitPrimitive(2, der.ia5Bytes(d))); // dNSName
  // X-3 / RFC 5280 4.1.2.6: with an empty subject the SAN carries the identity and is critical.
  return { oid: OID.subjectAltName, critical: subjectEmpty, value: der.constructed(der.Tag.SEQUENCE, names) };
}

/** A template for an X.509-SVID leaf (X-1..X-9). */
export function leafTemplate(o: LeafTemplateOptions): CertificateTemplate {
  if (o.id.isTrustDomainId()) throw new X509ProfileError('leaf SPIFFE ID must have a non-root path');
  const issuer = issuerInfo(o.issuer);
  checkIssuerTrustDomain(issuer, o.id.trustDomain);
  const [notBefore, notAfter] = checkValidity(o.notBefore, o.notAfter, issuer.notAfter);
  const dnsNames = o.dnsNames ?? [];
  dnsNames.forEach(checkDnsName);
  const { kind, spki } = publicKeyFrom(o.publicKey);
  const subject = { ...(o.subject ?? DEFAULT_LEAF_SUBJECT) };
  // Like SPIRE, the first DNS name doubles as CN for peers that still read it; CN is capped at 64.
  if (subject.commonName === undefined && dnsNames[0] !== undefined && dnsNames[0].length <= 64) {
    subject.commonName = dnsNames[0];
  }
  const subjectName = encodeName(subject);
  const subjectKeyId = subjectKeyIdentifier(spki);
  return {
    isCA: false,
    id: o.id,
    serial: checkSerial(o.serial),
    issuerName: issuer.name,
    subjectName,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    subjectKeyId,
    authorityKeyId: issuer.keyId,
    issuerPublicKey: issuer.publicKey,
    signatureAlgorithm: issuer.algorithm,
    extensions: [
      LEAF_BASIC_CONSTRAINTS,
      // RFC 5480 3 / RFC 8813 forbid keyEncipherment on EC keys; it is the RSA key-transport bit.
      kind === 'rsa' ? LEAF_KEY_USAGE_RSA : LEAF_KEY_USAGE_EC,
      LEAF_EXT_KEY_USAGE,
      { oid: OID.subjectKeyId, critical: false, value: der.octetString(subjectKeyId) },
      issuer.aki,
      sanExtension(o.id, dnsNames, subjectName.length === 2),
    ],
  };
}

function selfSigning(input: PublicKeyInput): { publicKey: KeyObject; algorithm: SignatureAlgorithm } {
  const publicKey = publicKeyObject(input);
  return { publicKey, algorithm: signatureAlgorithmFor(publicKey) };
}

/** A template for a signing certificate: a self-signed root, or an intermediate when `issuer` is given. */
export function caTemplate(o: CaTemplateOptions): CertificateTemplate {
  const issuer = o.issuer === undefined ? undefined : issuerInfo(o.issuer);
  if (issuer !== undefined) checkIssuerTrustDomain(issuer, o.trustDomain);
  const [notBefore, notAfter] = checkValidity(o.notBefore, o.notAfter, issuer?.notAfter);
  const mpl = o.maxPathLen;
  if (mpl !== undefined && !(Number.isSafeInteger(mpl) && mpl >= 0)) {
    throw new X509ProfileError(`maxPathLen must be a non-negative integer, got ${mpl}`);
  }
  const { spki } = publicKeyFrom(o.publicKey);
  const signing = issuer ?? selfSigning(o.publicKey);
  const serial = checkSerial(o.serial);
  const subject = { ...(o.subject ?? DEFAULT_CA_SUBJECT) };
  // A serial-unique subject keeps rotated CAs from sharing a name, so name-based path building
  // (OpenSSL looks issuers up by subject) cannot pick an older CA with the same name.
  subject.serialNumber ??= BigInt('0x' + serial.toString('hex')).toString();
  const subjectName = encodeName(subject);
  const subjectKeyId = subjectKeyIdentifier(spki);
  const id = SpiffeId.forTrustDomain(o.trustDomain);
  const basic = der.sequence(der.boolean(true), ...(mpl === undefined ? [] : [der.integer(mpl)]));
  return {
    isCA: true,
    id,
    serial,
    issuerName: issuer?.name ?? subjectName,
    subjectName,
    notBefore,
    notAfter,
    subjectPublicKeyInfo: spki,
    subjectKeyId,
    authorityKeyId: issuer?.keyId,
    issuerPublicKey: signing.publicKey,
    signatureAlgorithm: signing.algorithm,
    extensions: [
      { oid: OID.basicConstraints, critical: true, value: basic },
      CA_KEY_USAGE,
      { oid: OID.subjectKeyId, critical: false, value: der.octetString(subjectKeyId) },
      // RFC 5280 4.2.1.1 lets a self-signed certificate omit the AKI; SPIRE's roots do.
      ...(issuer === undefined ? [] : [issuer.aki]),
      sanExtension(id, [], false),
    ],
  };
}

/** The DER TBSCertificate for `template`, to be signed with `algorithm`. */
export function encodeTbs(template: CertificateTemplate, algorithm: SignatureAlgorithm): Buffer {
  if (algorithm !== template.signatureAlgorithm) {
    throw new X509ProfileError(
      `signer algorithm ${algorithm} does not match the issuer key, which signs with ${template.signatureAlgorithm}`);
  }
  return der.sequence(
    VERSION_3,
    der.integerFromBytes(template.serial),
    algorithmIdentifier(algorithm),
    template.issuerName,
    der.sequence(der.x509Time(template.notBefore), der.x509Time(template.notAfter)),
    template.subjectName,
    template.subjectPublicKeyInfo,
    der.explicit(3, der.constructed(der.Tag.SEQUENCE, template.extensions.map(encodeExtension))),
  );
}

/** The DER Certificate: tbs, the algorithm again, and the signature as a BIT STRING. */
export function assembleCertificate(tbs: Uint8Array, algorithm: SignatureAlgorithm, signature: Uint8Array): Buffer {
  if (isEcdsa(algorithm) ? !isDerEcdsaSignature(signature) : signature.length === 0) {
    throw new X509ProfileError(
      `signer returned a malformed ${algorithm} signature (raw r||s must go through ecdsaP1363ToDer)`,
      { status: Status.INTERNAL });
  }
  return der.sequence(tbs, algorithmIdentifier(algorithm), der.bitString(signature));
}

export interface IssueOptions {
  /** Check the signature against the issuer key. Default: on for CA certificates, off for leaves. */
  verify?: boolean;
}

/**
 * Encodes, signs and assembles one certificate, as DER. For callers that only ship the bytes (the
 * server's SVID RPCs): parsing into an X509Certificate costs more than signing under OpenSSL 3.0.
 */
export async function issueCertificateDer(template: CertificateTemplate, signer: Signer): Promise<Buffer> {
  const tbs = encodeTbs(template, signer.algorithm);
  return assembleCertificate(tbs, signer.algorithm, await signer.sign(tbs));
}

/** Encodes, signs and assembles one certificate. */
export async function issueCertificate(
  template: CertificateTemplate, signer: Signer, options: IssueOptions = {},
): Promise<X509Certificate> {
  const cert = new X509Certificate(await issueCertificateDer(template, signer));
  if ((options.verify ?? template.isCA) && !cert.verify(template.issuerPublicKey)) {
    throw new X509ProfileError("signature does not verify with the issuer's public key: wrong signer for this issuer", {
      status: Status.FAILED_PRECONDITION,
    });
  }
  return cert;
}
