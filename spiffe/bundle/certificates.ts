/**
 * Reading X.509 authorities from the two encodings bundles travel in: PEM files and the Workload
 * API's concatenated DER. Node's X509Certificate parses the first certificate of a buffer and
 * ignores whatever follows, so each certificate is framed here first: without that, a truncated or
 * spliced input (go-spiffe's corrupted.pem) would load as a valid but different certificate.
 */
import { X509Certificate } from 'node:crypto';
import { DerError, readTlv, Tag, type DerFault } from '../internal/der.js';
import { decodePem } from '../internal/pem.js';
import { messageOf } from '../errors.js';

export class CertificateParseError extends Error {}

// The bundle's own wording of each framing fault, which its callers and tests know.
const FAULT_TEXT: Record<DerFault, string> = {
  truncated: 'truncated',
  'indefinite-length': 'indefinite length',
  'length-too-large': 'length too large',
  'non-minimal-length': 'non-minimal length encoding',
  malformed: 'malformed',
};

/** Where the certificate starting at `offset` ends, by der.ts's strict DER framing. */
function certificateEnd(buf: Uint8Array, offset: number): number {
  // The tag first, so garbage is reported as not a certificate rather than by its "length".
  if (buf[offset] !== Tag.SEQUENCE) {
    const tag = buf[offset] ?? 0;
    throw new CertificateParseError(`malformed certificate: expected a SEQUENCE, found tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
  try {
    return readTlv(buf, offset).end;
  } catch (err) {
    if (err instanceof DerError) throw new CertificateParseError(`malformed certificate: ${FAULT_TEXT[err.fault]}`);
    throw err;
  }
}

function certificateFromDer(der: Uint8Array): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (err) {
    throw new CertificateParseError(`malformed certificate: ${messageOf(err)}`);
  }
}

/** One DER certificate, exactly: trailing bytes are an error (Go's `x509: trailing data`). */
export function parseDerCertificate(der: Uint8Array): X509Certificate {
  const end = certificateEnd(der, 0);
  if (end !== der.length) throw new CertificateParseError('malformed certificate: trailing data after certificate');
  return certificateFromDer(der);
}

/** Concatenated DER certificates, the Workload API encoding. Empty input gives none. */
export function parseDerCertificates(der: Uint8Array): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (let offset = 0; offset < der.length; ) {
    const end = certificateEnd(der, offset);
    out.push(certificateFromDer(der.subarray(offset, end)));
    offset = end;
  }
  return out;
}

/**
 * The CERTIFICATE blocks of a PEM input, as go-spiffe's pemutil reads them: other block types are
 * skipped, and "no PEM block at all" is an error distinct from "no certificate block".
 */
export function parsePemCertificates(pem: string | Uint8Array): X509Certificate[] {
  const blocks = decodePem(pem);
  if (blocks.length === 0) throw new CertificateParseError('no PEM blocks found');
  return blocks.filter((b) => b.type === 'CERTIFICATE').map((b) => parseDerCertificate(b.bytes));
}
