import type { X509Certificate } from 'node:crypto';

/**
 * The X.509 authorities of one bundle: insertion-ordered, with duplicates detected by DER bytes (as
 * go-spiffe's AddX509Authority does), so a CA that is both in a PEM file and in a federated bundle
 * counts once however it was loaded. Order is kept because it is what gets marshalled.
 */
export class X509AuthorityList {
  readonly #byDer = new Map<string, X509Certificate>();

  constructor(certs: Iterable<X509Certificate> = []) {
    for (const c of certs) this.add(c);
  }

  /** False when an identical certificate is already present. */
  add(cert: X509Certificate): boolean {
    const k = derKey(cert);
    if (this.#byDer.has(k)) return false;
    this.#byDer.set(k, cert);
    return true;
  }

  remove(cert: X509Certificate): boolean {
    return this.#byDer.delete(derKey(cert));
  }

  has(cert: X509Certificate): boolean {
    return this.#byDer.has(derKey(cert));
  }

  list(): X509Certificate[] {
    return [...this.#byDer.values()];
  }

  get size(): number {
    return this.#byDer.size;
  }

  /** Same certificates in the same order (go-spiffe's CertsEqual): order changes the marshalled bytes. */
  equals(other: X509AuthorityList): boolean {
    if (this.#byDer.size !== other.#byDer.size) return false;
    const theirs = other.#byDer.keys();
    for (const k of this.#byDer.keys()) if (theirs.next().value !== k) return false;
    return true;
  }
}

function derKey(cert: X509Certificate): string {
  return cert.raw.toString('base64');
}
