/**
 * RFC 5280 path validation in the shape of Go's x509 verifier, which go-spiffe relies on: build
 * every chain from the leaf through the supplied intermediates to a trust-domain authority, then
 * report either the chains or one reason worded as Go words it (without its "x509: " prefix).
 *
 * A chain ends at the first certificate that is a bundle authority, so an intermediate CA placed
 * in a bundle anchors chains itself. Authorities are trust anchors: their signatures are not
 * checked, but their validity period, pathLen and name constraints apply (as in Go).
 */
import type { X509Certificate } from 'node:crypto';
import { messageOf } from '../errors.js';
import { certInfo, KeyUsage, type CertInfo } from '../internal/x509.js';
import { nameConstraintsProblem } from './name-constraints.js';

/** Longest chain considered, leaf and authority included (no real SPIFFE PKI comes close). */
export const MAX_CHAIN_LENGTH = 10;
/** Bounds the work an attacker-chosen pile of same-named intermediates can cause (Go uses 100). */
export const MAX_SIGNATURE_CHECKS = 100;

interface Search {
  readonly anchors: readonly X509Certificate[];
  readonly intermediates: readonly X509Certificate[];
  readonly time: Date;
  readonly leafInfo: CertInfo;
  readonly chains: X509Certificate[][];
  signatureChecks: number;
  /** The first reason a candidate issuer was refused, as Go reports it when no chain is found. */
  hint?: { reason: string; cert: X509Certificate };
}

/** All valid chains (leaf first, authority last), or why there is none. */
export function buildChains(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  time: Date,
): X509Certificate[][] | string {
  const leafInfo = certInfo(leaf);
  const leafProblem = validityProblem(leafInfo, time) ?? criticalProblem(leafInfo);
  if (leafProblem !== undefined) return leafProblem;
  if (anchors.some((a) => sameCert(a, leaf))) return [[leaf]];
  const search: Search = { anchors, intermediates, time, leafInfo, chains: [], signatureChecks: 0 };
  extend([leaf], search);
  if (search.chains.length > 0) return search.chains;
  if (search.signatureChecks > MAX_SIGNATURE_CHECKS) {
    return 'signature check attempts limit reached while verifying certificate chain';
  }
  let reason = 'certificate signed by unknown authority';
  if (search.hint !== undefined) {
    const { reason: why, cert } = search.hint;
    reason += ` (possibly because of ${JSON.stringify(why)} while trying to verify candidate authority certificate ${JSON.stringify(certName(cert))})`;
  }
  return reason;
}

function extend(chain: X509Certificate[], search: Search): void {
  const child = chain[chain.length - 1]!;
  const childInfo = certInfo(child);
  for (const { cert, anchor } of candidates(childInfo, chain, search)) {
    if (++search.signatureChecks > MAX_SIGNATURE_CHECKS) return;
    let info: CertInfo;
    try {
      info = certInfo(cert);
    } catch (err) {
      refuse(search, cert, messageOf(err));
      continue;
    }
    if (!signedBy(child, cert)) {
      refuse(search, cert, 'certificate signature is invalid');
      continue;
    }
    const problem = issuerProblem(info, anchor, chain.length - 1, search);
    if (problem !== undefined) {
      refuse(search, cert, problem);
    } else if (anchor) {
      search.chains.push([...chain, cert]);
    } else if (chain.length + 2 > MAX_CHAIN_LENGTH) {
      refuse(search, cert, `chain would exceed ${MAX_CHAIN_LENGTH} certificates`);
    } else {
      extend([...chain, cert], search);
    }
  }
}

/**
 * Certificates whose subject is the child's issuer, byte for byte (as Go compares names).
 * Authorities first, so a certificate that is both an authority and a supplied intermediate ends
 * the chain; within each group, those whose subjectKeyId matches the child's authorityKeyId first.
 */
function candidates(
  child: CertInfo,
  chain: readonly X509Certificate[],
  search: Search,
): { cert: X509Certificate; anchor: boolean }[] {
  const named = (certs: readonly X509Certificate[]): X509Certificate[] =>
    certs.filter((c) => {
      try {
        return bytesEqual(certInfo(c).subject, child.issuer) && !chain.some((inChain) => sameCert(inChain, c));
      } catch {
        return false; // unreadable certificates never become issuers
      }
    });
  const keyIdFirst = (certs: X509Certificate[]): X509Certificate[] => {
    const aki = child.authorityKeyId;
    if (aki === undefined) return certs;
    const matching = (c: X509Certificate): boolean => {
      const ski = certInfo(c).subjectKeyId;
      return ski !== undefined && bytesEqual(ski, aki);
    };
    return [...certs.filter(matching), ...certs.filter((c) => !matching(c))];
  };
  const anchors = keyIdFirst(named(search.anchors));
  const intermediates = keyIdFirst(
    named(search.intermediates).filter((c) => !search.anchors.some((a) => sameCert(a, c))),
  );
  return [...anchors.map((cert) => ({ cert, anchor: true })), ...intermediates.map((cert) => ({ cert, anchor: false }))];
}

/** Why `info` cannot issue the next certificate down; `below` = intermediates under it. */
function issuerProblem(info: CertInfo, anchor: boolean, below: number, search: Search): string | undefined {
  const general = validityProblem(info, search.time) ?? criticalProblem(info);
  if (general !== undefined) return general;
  // A trust anchor without basicConstraints (an X.509 v1 root) is trusted as configured, as
  // RFC 5280 6.1 and Go treat anchors; one that says cA=false has disowned the role.
  if (!(anchor && info.basicConstraints === undefined) && info.basicConstraints?.ca !== true) {
    return 'certificate is not authorized to sign other certificates: it is not a CA';
  }
  if (info.keyUsage !== undefined && (info.keyUsage & KeyUsage.keyCertSign) === 0) {
    return 'certificate is not authorized to sign other certificates: key usage lacks keyCertSign';
  }
  const pathLen = info.basicConstraints?.pathLen;
  if (pathLen !== undefined && below > pathLen) return 'too many intermediates for path length constraint';
  if (info.nameConstraints !== undefined) {
    return nameConstraintsProblem(info.nameConstraints, search.leafInfo.subjectAltNames);
  }
  return undefined;
}

function validityProblem(info: CertInfo, time: Date): string | undefined {
  const prefix = 'certificate has expired or is not yet valid: current time';
  if (time < info.notBefore) return `${prefix} ${rfc3339(time)} is before ${rfc3339(info.notBefore)}`;
  if (time > info.notAfter) return `${prefix} ${rfc3339(time)} is after ${rfc3339(info.notAfter)}`;
  return undefined;
}

function criticalProblem(info: CertInfo): string | undefined {
  const oid = info.unhandledCritical[0];
  return oid === undefined ? undefined : `unhandled critical extension ${oid}`;
}

function signedBy(child: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false; // e.g. a key type OpenSSL cannot use for this signature algorithm
  }
}

function refuse(search: Search, cert: X509Certificate, reason: string): void {
  search.hint ??= { reason, cert };
}

function sameCert(a: X509Certificate, b: X509Certificate): boolean {
  return a === b || a.raw.equals(b.raw);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}

/** Go's choice of a name for a certificate in messages: CN, else O, else the serial number. */
function certName(cert: X509Certificate): string {
  const attrs = cert.subject.split('\n');
  const pick = (key: string): string | undefined => attrs.find((a) => a.startsWith(`${key}=`))?.slice(key.length + 1);
  return pick('CN') ?? pick('O') ?? `serial:${BigInt(`0x${cert.serialNumber || '0'}`).toString()}`;
}

/** Time as Go's RFC 3339 formatting prints UTC (second precision, "Z"). */
function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
