/**
 * Reading X.509 authorities from the two encodings bundles travel in: PEM files and the Workload
 * API's concatenated DER. Node's X509Certificate parses the first certificate of a buffer and
 * ignores whatever follows, so each certificate is framed here first: without that, a truncated or
 * spliced input (go-spiffe's corrupted.pem) would load as a valid but different certificate.
 */
import { X509Certificate } from 'node:crypto';
import { decodePem } from '../internal/pem.js';
import { messageOf } from '../errors.js';

export class CertificateParseError extends Error {}

/** Where the DER element starting at `offset` ends (X.690 definite lengths only, as DER requires). */
function derElementEnd(buf: Uint8Array, offset: number): number {
  if (buf[offset] !== 0x30) {
    const tag = buf[offset] ?? 0;
    throw new CertificateParseError(`malformed certificate: expected a SEQUENCE, found tag 0x${tag.toString(16).padStart(2, '0')}`);
  }
  if (offset + 2 > buf.length) throw new CertificateParseError('malformed certificate: truncated');
  const first = buf[offset + 1] ?? 0;
  let header = 2;
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0) throw new CertificateParseError('malformed certificate: indefinite length');
    if (n > 4) throw new CertificateParseError('malformed certificate: length too large');
    if (offset + 2 + n > buf.length) throw new CertificateParseError('malformed certificate: truncated');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + (buf[offset + 2 + i] ?? 0);
    if (length < 0x80 || (n > 1 && (buf[offset + 2] ?? 0) === 0)) {
      throw new CertificateParseError('malformed certificate: non-minimal length encoding');
    }
    header += n;
  }
  const end = offset + header + length;
  if (end > buf.length) throw new CertificateParseError('malformed certificate: truncated');
  return end;
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
  const end = derElementEnd(der, 0);
  if (end !== der.length) throw new CertificateParseError('malformed certificate: trailing data after certificate');
  return certificateFromDer(der);
}

/** Concatenated DER certificates, the Workload API encoding. Empty input gives none. */
export function parseDerCertificates(der: Uint8Array): X509Certificate[] {
  const out: X509Certificate[] = [];
  for (let offset = 0; offset < der.length; ) {
    const end = derElementEnd(der, offset);
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
