import type { X509Certificate } from 'node:crypto';
import { subjectKeyIdentifier } from '../../spiffe/x509svid/signer.js';

/** Node 20 has no validToDate; its validTo text ("Jan  1 00:00:00 2030 GMT") parses exactly. */
export function notAfterOf(cert: X509Certificate): Date {
  return new Date(cert.validTo);
}

/** The authority ID SPIRE journals and taints by: the hex SKID sigil's profile writes (SHA-1 of the key bits). */
export function authorityIdOf(cert: X509Certificate): string {
  return subjectKeyIdentifier(cert.publicKey.export({ type: 'spki', format: 'der' })).toString('hex');
}
