/**
 * The X.509-SVID certificate profile (X509-SVID.md section 4, RFC 5280) and issuance.
 *
 * Issuance is split in three so the signing key can live anywhere: a template is built and
 * encoded to DER here (sync, pure), a Signer signs the TBSCertificate bytes, and the signature is
 * wrapped into the Certificate here (sync). issueCertificate runs the three steps for one
 * certificate; a batching caller can run encodeTbs / assembleCertificate itself. Names are
 * encoded in subject-name.ts, extensions in extensions.ts, serials and validity in validity.ts.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { Status, messageOf } from '../errors.js';
import * as der from '../internal/der-writer.js';
import { certInfo, type CertInfo } from '../internal/x509.js';
import { SpiffeId, type TrustDomain } from '../spiffeid/index.js';
import {
  authorityKeyIdExtension, CA_KEY_USAGE, caBasicConstraints, encodeExtension, LEAF_BASIC_CONSTRAINTS,
  LEAF_EXT_KEY_USAGE, LEAF_KEY_USAGE_EC, LEAF_KEY_USAGE_RSA, subjectAltNameExtension, subjectKeyIdExtension,
  type TemplateExtension,
} from './extensions.js';
import { X509ProfileError } from './profile-errors.js';
import {
  algorithmIdentifier, isDerEcdsaSignature, isEcdsa, publicKeyFrom, publicKeyObject, signatureAlgorithmFor,
  subjectKeyIdentifier, type PublicKeyInput, type SignatureAlgorithm, type Signer,
} from './signer.js';
import {
  checkDnsName, DEFAULT_CA_SUBJECT, DEFAULT_LEAF_SUBJECT, encodeName, encodeSubjectAltName, ipAddressOctets,
  type SubjectName,
} from './subject-name.js';
import { BACKDATE_SECONDS, checkSerial, checkValidity } from './validity.js';

// Callers outside spiffe/ import these from this module, where they were first defined.
export { BACKDATE_SECONDS, DEFAULT_CA_SUBJECT, DEFAULT_LEAF_SUBJECT, type SubjectName };
export { newSerial, validityWindow, type ValidityWindow } from './validity.js';
export type { TemplateExtension };

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
  /** IPv4 or IPv6 literals, added as iPAddress SANs after the DNS names (never the CN). */
  ipAddresses?: readonly string[];
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

const VERSION_3 = der.explicit(0, der.integer(2));

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
  let cert: CertInfo;
  try {
    cert = certInfo(issuer);
  } catch (err) {
    throw new X509ProfileError(`cannot read issuer certificate: ${messageOf(err)}`, { cause: err });
  }
  const keyId = Buffer.from(cert.subjectKeyId ?? subjectKeyIdentifier(cert.subjectPublicKeyInfo));
  const info: IssuerInfo = {
    // Copied verbatim so RFC 5280 name chaining matches byte for byte.
    name: Buffer.from(cert.subject),
    publicKey: issuer.publicKey,
    algorithm: signatureAlgorithmFor(issuer.publicKey),
    notAfter: cert.notAfter,
    trustDomain: spiffeTrustDomainOf(cert),
    keyId,
    aki: authorityKeyIdExtension(keyId),
  };
  issuers.set(issuer, info);
  return info;
}

function spiffeTrustDomainOf(cert: CertInfo): string | undefined {
  for (const san of cert.subjectAltNames) {
    if (san.kind === 'uri' && san.value.startsWith('spiffe://')) return SpiffeId.tryParse(san.value)?.trustDomain.name;
  }
  return undefined;
}

function checkIssuerTrustDomain(issuer: IssuerInfo, td: TrustDomain): void {
  // a signing certificate's SPIFFE ID, when it has one, is its trust domain's ID.
  if (issuer.trustDomain !== undefined && issuer.trustDomain !== td.name) {
    throw new X509ProfileError(`issuer belongs to trust domain "${issuer.trustDomain}", not "${td.name}"`);
  }
}

/** A template for an X.509-SVID leaf (X-1..X-9). */
export function leafTemplate(o: LeafTemplateOptions): CertificateTemplate {
  if (o.id.isTrustDomainId()) throw new X509ProfileError('leaf SPIFFE ID must have a non-root path');
  const issuer = issuerInfo(o.issuer);
  checkIssuerTrustDomain(issuer, o.id.trustDomain);
  const [notBefore, notAfter] = checkValidity(o.notBefore, o.notAfter, issuer.notAfter);
  const dnsNames = o.dnsNames ?? [];
  dnsNames.forEach(checkDnsName);
  const ipAddresses = (o.ipAddresses ?? []).map(ipAddressOctets);
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
      subjectKeyIdExtension(subjectKeyId),
      issuer.aki,
      // X-3 / RFC 5280 4.1.2.6: with an empty subject the SAN carries the identity and is critical.
      subjectAltNameExtension(encodeSubjectAltName(o.id, dnsNames, ipAddresses), subjectName.length === 2),
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
      caBasicConstraints(mpl),
      CA_KEY_USAGE,
      subjectKeyIdExtension(subjectKeyId),
      // RFC 5280 4.2.1.1 lets a self-signed certificate omit the AKI; SPIRE's roots do.
      ...(issuer === undefined ? [] : [issuer.aki]),
      subjectAltNameExtension(encodeSubjectAltName(id, [], []), false),
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
