/**
 * An X509-SVID: a SPIFFE ID, its certificate chain (leaf first) and the leaf's private key, parsed
 * and checked as go-spiffe's x509svid.Parse / ParseRaw do, with the same check order and texts.
 * Parsing checks the SVID's shape, not its trust: dates and signatures are verifyX509Svid's job.
 */
import { createPrivateKey, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { messageOf } from '../errors.js';
import { DerError, readWhole, Tag } from '../internal/der.js';
import { decodePem, encodePem } from '../internal/pem.js';
import { certInfo, parseCertificate, parseCertificates } from '../internal/x509.js';
import type { SpiffeId } from '../spiffeid/index.js';
import { hasKeyUsage, isCa, KeyUsage, leafSpiffeId } from './checks.js';
import { X509SvidError } from './errors.js';

/** The ECDSA curves Go's x509 package parses; a key on any other curve is one go-spiffe cannot load. */
const EC_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1', 'secp224r1']);

export class X509Svid {
  readonly id: SpiffeId;
  /** Leaf first, then the intermediates that lead towards the trust domain's authorities. */
  readonly certificates: X509Certificate[];
  readonly privateKey: KeyObject;
  /** The Workload API's hint for choosing among several SVIDs (e.g. "internal"); optional. */
  readonly hint?: string;

  /** For SVIDs already checked (e.g. freshly issued); untrusted bytes go through parse/parseRaw. */
  constructor(id: SpiffeId, certificates: X509Certificate[], privateKey: KeyObject, hint?: string) {
    this.id = id;
    this.certificates = certificates;
    this.privateKey = privateKey;
    if (hint !== undefined) this.hint = hint;
  }

  /**
   * From PEM: CERTIFICATE blocks and one PKCS#8 `PRIVATE KEY` block. Both arguments may be the
   * same text, blocks in any order; blocks of other types (`EC PRIVATE KEY`…) are skipped.
   */
  static parse(certPem: string | Uint8Array, keyPem: string | Uint8Array): X509Svid {
    const certBlocks = decodePem(certPem);
    if (certBlocks.length === 0) {
      throw new X509SvidError('cannot parse PEM encoded certificate: no PEM blocks found');
    }
    const certs: X509Certificate[] = [];
    for (const block of certBlocks) {
      if (block.type !== 'CERTIFICATE') continue;
      try {
        certs.push(parseCertificate(block.bytes));
      } catch (err) {
        throw new X509SvidError(`cannot parse PEM encoded certificate: ${messageOf(err)}`, { cause: err });
      }
    }
    const keyBlocks = decodePem(keyPem);
    if (keyBlocks.length === 0) {
      throw new X509SvidError('cannot parse PEM encoded private key: no PEM blocks found');
    }
    const keyBlock = keyBlocks.find((b) => b.type === 'PRIVATE KEY');
    let key: KeyObject | undefined;
    if (keyBlock !== undefined) {
      try {
        key = parsePkcs8(keyBlock.bytes);
      } catch (err) {
        throw new X509SvidError(`cannot parse PEM encoded private key: ${messageOf(err)}`, { cause: err });
      }
    }
    return X509Svid.checked(certs, key);
  }

  /** From the Workload API encoding: concatenated DER certificates and a PKCS#8 DER key. */
  static parseRaw(certsDer: Uint8Array, keyDer: Uint8Array): X509Svid {
    let certs: X509Certificate[];
    try {
      certs = parseCertificates(certsDer);
    } catch (err) {
      throw new X509SvidError(`cannot parse DER encoded certificate: ${messageOf(err)}`, { cause: err });
    }
    let key: KeyObject;
    try {
      key = parsePkcs8(keyDer);
    } catch (err) {
      throw new X509SvidError(`cannot parse DER encoded private key: ${messageOf(err)}`, { cause: err });
    }
    return X509Svid.checked(certs, key);
  }

  /** PEM certificates (leaf first) and a PEM PKCS#8 key, as `parse` reads them back. */
  marshal(): { certificates: string; privateKey: string } {
    if (this.certificates.length === 0) throw new X509SvidError('no certificates to marshal');
    let key: Buffer;
    try {
      key = this.privateKey.export({ type: 'pkcs8', format: 'der' });
    } catch (err) {
      throw new X509SvidError(`cannot encode private key: ${messageOf(err)}`, { cause: err });
    }
    return {
      certificates: this.certificates.map((c) => encodePem('CERTIFICATE', c.raw)).join(''),
      privateKey: encodePem('PRIVATE KEY', key),
    };
  }

  /** Concatenated DER certificates and a PKCS#8 DER key: the Workload API's X509SVID fields. */
  marshalRaw(): { certificates: Buffer; privateKey: Buffer } {
    if (this.certificates.length === 0) throw new X509SvidError('no certificates to marshal');
    let key: Buffer;
    try {
      key = this.privateKey.export({ type: 'pkcs8', format: 'der' });
    } catch (err) {
      throw new X509SvidError(`cannot marshal private key: ${messageOf(err)}`, { cause: err });
    }
    return { certificates: Buffer.concat(this.certificates.map((c) => c.raw)), privateKey: key };
  }

  private static checked(certs: X509Certificate[], key: KeyObject | undefined): X509Svid {
    const id = validateCertificates(certs);
    const problem = keyProblem(key, certs[0]!);
    if (problem !== undefined) throw new X509SvidError(`private key validation failed: ${problem}`);
    return new X509Svid(id, certs, key!);
  }
}

/** go-spiffe's validateCertificates: steps 3–11 of its Parse, in its order. */
function validateCertificates(certs: X509Certificate[]): SpiffeId {
  const fail = (reason: string): never => {
    throw new X509SvidError(`certificate validation failed: ${reason}`);
  };
  const [leaf, ...signing] = certs;
  if (leaf === undefined) return fail('no certificates found');
  const info = certInfo(leaf);
  const id = leafSpiffeId(info);
  if (typeof id === 'string') return fail(`cannot get leaf certificate SPIFFE ID: ${id}`);
  if (id.isTrustDomainId()) fail('leaf certificate SPIFFE ID must have a non-root path');
  if (isCa(info)) fail('leaf certificate must not have CA flag set to true');
  if (!hasKeyUsage(info, KeyUsage.digitalSignature)) {
    fail("leaf certificate must have 'digitalSignature' set as key usage");
  }
  if (hasKeyUsage(info, KeyUsage.keyCertSign)) fail("leaf certificate must not have 'keyCertSign' set as key usage");
  if (hasKeyUsage(info, KeyUsage.cRLSign)) fail("leaf certificate must not have 'cRLSign' set as key usage");
  for (const cert of signing) {
    const ci = certInfo(cert);
    if (!isCa(ci)) fail('signing certificate must have CA flag set to true');
    if (!hasKeyUsage(ci, KeyUsage.keyCertSign)) fail("signing certificate must have 'keyCertSign' set as key usage");
  }
  return id;
}

/** go-spiffe's validatePrivateKey: present, of a type it supports, and the leaf's own key. */
function keyProblem(key: KeyObject | undefined, leaf: X509Certificate): string | undefined {
  if (key === undefined) return 'no private key found';
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve';
    if (!EC_CURVES.has(curve)) return `unsupported private key type ec (${curve})`;
  } else if (type !== 'rsa' && type !== 'ed25519') {
    return `unsupported private key type ${type}`;
  }
  // KeyObject.equals compares the key material, so encodings (compressed points…) do not matter.
  let matches: boolean;
  try {
    matches = createPublicKey(key).equals(leaf.publicKey);
  } catch {
    matches = false; // the leaf's key is of a kind OpenSSL cannot load, so it is not this key
  }
  return matches ? undefined : 'leaf certificate does not match private key';
}

/** A PKCS#8 DER key. The outer check rejects trailing bytes, which OpenSSL would ignore. */
function parsePkcs8(der: Uint8Array): KeyObject {
  try {
    readWhole(der, Tag.SEQUENCE, 'PrivateKeyInfo');
  } catch (err) {
    throw new DerError(`invalid PKCS#8 private key: ${messageOf(err)}`);
  }
  try {
    return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw new DerError('invalid PKCS#8 private key: rejected by the key parser');
  }
}
