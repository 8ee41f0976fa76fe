import type { X509Certificate } from 'node:crypto';
import { encodePem } from '../internal/pem.js';
import type { TrustDomain } from '../spiffeid/index.js';
import { CertificateParseError, parseDerCertificates, parsePemCertificates } from './certificates.js';
import { bundleNotFound, invalidBundle } from './errors.js';
import type { X509Authorities, X509BundleSource } from './source.js';
import { X509AuthorityList } from './x509-authorities.js';

/**
 * The X.509 authorities (CA certificates) of one trust domain: what an X509-SVID from it must chain
 * to. Certificates are kept as given: bundle parsing does not look at CA flags or validity dates
 * (go-spiffe's own test bundle is two X.509 v1 certificates).
 */
export class X509Bundle implements X509Authorities, X509BundleSource {
  readonly trustDomain: TrustDomain;
  #authorities: X509AuthorityList;

  constructor(trustDomain: TrustDomain, authorities: Iterable<X509Certificate> = []) {
    this.trustDomain = trustDomain;
    this.#authorities = new X509AuthorityList(authorities);
  }

  /**
   * PEM input: empty input is an empty bundle; blocks other than CERTIFICATE are skipped; input
   * with no PEM block at all is an error.
   */
  static parse(trustDomain: TrustDomain, pem: string | Uint8Array): X509Bundle {
    if (pem.length === 0) return new X509Bundle(trustDomain);
    return new X509Bundle(trustDomain, readCertificates(() => parsePemCertificates(pem)));
  }

  /**
   * Concatenated DER certificates, the encoding of the Workload API's bundle fields. Duplicates are
   * dropped here too (go-spiffe keeps them on this path only), so both encodings of one bundle
   * compare equal.
   */
  static parseRaw(trustDomain: TrustDomain, der: Uint8Array): X509Bundle {
    return new X509Bundle(trustDomain, readCertificates(() => parseDerCertificates(der)));
  }

  x509Authorities(): readonly X509Certificate[] {
    return this.#authorities.list();
  }

  hasX509Authority(cert: X509Certificate): boolean {
    return this.#authorities.has(cert);
  }

  /** Returns false, and changes nothing, when the same certificate (DER bytes) is already present. */
  addX509Authority(cert: X509Certificate): boolean {
    return this.#authorities.add(cert);
  }

  removeX509Authority(cert: X509Certificate): boolean {
    return this.#authorities.remove(cert);
  }

  setX509Authorities(certs: Iterable<X509Certificate>): void {
    this.#authorities = new X509AuthorityList(certs);
  }

  isEmpty(): boolean {
    return this.#authorities.size === 0;
  }

  /** PEM, one CERTIFICATE block per authority in order; an empty bundle is the empty string. */
  marshal(): string {
    return this.#authorities
      .list()
      .map((c) => encodePem('CERTIFICATE', c.raw))
      .join('');
  }

  /** Concatenated DER, as the Workload API sends bundles. */
  marshalRaw(): Buffer {
    return Buffer.concat(this.#authorities.list().map((c) => c.raw));
  }

  /** Same trust domain and the same certificates in the same order. */
  equals(other: X509Bundle): boolean {
    return this.trustDomain.equals(other.trustDomain) && this.#authorities.equals(other.#authorities);
  }

  clone(): X509Bundle {
    return new X509Bundle(this.trustDomain, this.#authorities.list());
  }

  getX509BundleForTrustDomain(td: TrustDomain): X509Bundle {
    if (!this.trustDomain.equals(td)) {
      throw bundleNotFound('x509bundle', `no X.509 bundle found for trust domain: ${JSON.stringify(td.name)}`);
    }
    return this;
  }
}

function readCertificates(read: () => X509Certificate[]): X509Certificate[] {
  try {
    return read();
  } catch (err) {
    if (err instanceof CertificateParseError) {
      throw invalidBundle('x509bundle', `cannot parse certificate: ${err.message}`, err);
    }
    throw err;
  }
}
