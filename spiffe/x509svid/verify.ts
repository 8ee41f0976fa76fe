/**
 * X509-SVID verification: go-spiffe's x509svid.Verify (same checks in the same order, same texts)
 * followed by the rules the spec requires of validators that go-spiffe leaves out (X-2, X-6, X-9,
 * ), each checked before the bundle lookup because they need nothing but the chain.
 */
import type { X509Certificate } from 'node:crypto';
import type { X509Authorities, X509BundleSource } from '../bundle/source.js';
import { messageOf } from '../errors.js';
import { certInfo, Oid, parseCertificate, type CertInfo } from '../internal/x509.js';
import type { SpiffeId } from '../spiffeid/index.js';
import { hasKeyUsage, isCa, KeyUsage, leafSpiffeId } from './checks.js';
import { X509SvidError } from './errors.js';
import { buildChains } from './path-validation.js';

export interface VerifyOptions {
  /** The time certificates must be valid at; defaults to now. */
  time?: Date;
}

export interface VerifiedX509Svid {
  id: SpiffeId;
  /** Every valid chain found, each leaf first and ending at an authority of the leaf's trust domain. */
  chains: X509Certificate[][];
}

/**
 * Verifies `certs` (leaf first, then intermediates in any order) against the authorities that
 * `bundles` holds for the leaf's trust domain. Throws X509SvidError.
 */
export function verifyX509Svid(
  certs: readonly X509Certificate[],
  bundles: X509BundleSource,
  opts: VerifyOptions = {},
): VerifiedX509Svid {
  const leaf = certs[0];
  if (leaf === undefined) throw new X509SvidError('empty certificates chain');
  // The types forbid it, but a JavaScript caller can still pass nothing; say so plainly.
  if ((bundles as X509BundleSource | undefined) == null) throw new X509SvidError('bundleSource is required');
  const infos = certs.map((cert) => {
    try {
      return certInfo(cert);
    } catch (err) {
      throw new X509SvidError(`unable to parse certificate: ${messageOf(err)}`, { cause: err });
    }
  });
  const leafInfo = infos[0]!;

  const id = leafSpiffeId(leafInfo);
  if (typeof id === 'string') throw new X509SvidError(`could not get leaf SPIFFE ID: ${id}`);
  if (isCa(leafInfo)) throw new X509SvidError('leaf certificate with CA flag set to true');
  if (hasKeyUsage(leafInfo, KeyUsage.keyCertSign)) throw new X509SvidError('leaf certificate with KeyCertSign key usage');
  if (hasKeyUsage(leafInfo, KeyUsage.cRLSign)) throw new X509SvidError('leaf certificate with KeyCrlSign key usage');
  strictChecks(id, leafInfo, infos.slice(1));

  let bundle: X509Authorities;
  try {
    bundle = bundles.getX509BundleForTrustDomain(id.trustDomain);
  } catch (err) {
    throw new X509SvidError(`could not get X509 bundle: ${messageOf(err)}`, { cause: err });
  }
  const result = buildChains(leaf, certs.slice(1), bundle.x509Authorities(), opts.time ?? new Date());
  if (typeof result === 'string') throw new X509SvidError(`could not verify leaf certificate: ${result}`);
  return { id, chains: result };
}

/**
 * The Workload API / TLS form: one DER certificate per element, leaf first. Every element is
 * parsed before anything is checked, as go-spiffe's ParseAndVerify does.
 */
export function parseAndVerifyX509Svid(
  rawCerts: readonly Uint8Array[],
  bundles: X509BundleSource,
  opts: VerifyOptions = {},
): VerifiedX509Svid {
  const certs = rawCerts.map((der) => {
    try {
      return parseCertificate(der);
    } catch (err) {
      throw new X509SvidError(`unable to parse certificate: ${messageOf(err)}`, { cause: err });
    }
  });
  return verifyX509Svid(certs, bundles, opts);
}

/** X509-SVID.md rules go-spiffe's Verify does not enforce (reference §2.3, divergences). */
function strictChecks(id: SpiffeId, leaf: CertInfo, signing: readonly CertInfo[]): void {
  // go-spiffe only checks this in Parse; the spec requires it of validators.
  if (id.isTrustDomainId()) throw new X509SvidError('leaf certificate SPIFFE ID must have a non-root path');
  //
  if (!hasKeyUsage(leaf, KeyUsage.digitalSignature)) {
    throw new X509SvidError("leaf certificate must have 'digitalSignature' set as key usage");
  }
  // optional, but when present it must allow the SVID on both sides of a TLS connection.
  const eku = leaf.extKeyUsage;
  if (eku !== undefined && !(eku.includes(Oid.serverAuth) && eku.includes(Oid.clientAuth))) {
    throw new X509SvidError("leaf certificate extended key usage must include both 'serverAuth' and 'clientAuth'");
  }
  // every certificate after the leaf is presented as a signing certificate.
  for (const info of signing) {
    if (!isCa(info)) throw new X509SvidError('signing certificate must have CA flag set to true');
    if (!hasKeyUsage(info, KeyUsage.keyCertSign)) {
      throw new X509SvidError("signing certificate must have 'keyCertSign' set as key usage");
    }
  }
}
