/**
 * The X509-SVID profile rules (X509-SVID.md sections 4–5), shared by parsing and verification.
 * Each returns a reason or undefined; the callers word the reason the way go-spiffe does in that
 * context (parse and verify use different texts for the same rule).
 */
import { SpiffeId } from '../spiffeid/index.js';
import { KeyUsage, type CertInfo } from '../internal/x509.js';

export const NO_URI_SAN = 'certificate contains no URI SAN';
export const MANY_URI_SANS = 'certificate contains more than one URI SAN';

/** The leaf's SPIFFE ID, or why it has none. */
export function leafSpiffeId(info: CertInfo): SpiffeId | string {
  let uri: string | undefined;
  for (const name of info.subjectAltNames) {
    if (name.kind !== 'uri') continue;
    if (uri !== undefined) return MANY_URI_SANS;
    uri = name.value;
  }
  if (uri === undefined) return NO_URI_SAN;
  try {
    return SpiffeId.fromString(uri);
  } catch (err) {
    return (err as Error).message;
  }
}

/** basicConstraints cA=true, as Go's IsCA (a missing extension means not a CA). */
export function isCa(info: CertInfo): boolean {
  return info.basicConstraints?.ca === true;
}

/** A missing keyUsage extension counts as no bits set, as in go-spiffe. */
export function hasKeyUsage(info: CertInfo, bit: number): boolean {
  return ((info.keyUsage ?? 0) & bit) !== 0;
}

export { KeyUsage };
