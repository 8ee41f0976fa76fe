/**
 * How the agent trusts the server for its first attestation, before it has a bundle of its own:
 * the trust bundle file the operator gave (PEM CA certificates of the trust domain), or, with
 * insecure bootstrap, the certificate the server presents on first contact (its SPIFFE ID checked,
 * its chain not), pinned for the attesting connection. Later attestations use the agent's bundle.
 */
import { readFile } from 'node:fs/promises';
import { X509Bundle } from '../../spiffe/bundle/index.js';
import { messageOf } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { fingerprint, probeServerCertificate, type ServerTrust } from '../client/tls.js';
import type { Bootstrap, HostPort } from '../config/index.js';
import type { Logger } from '../logger.js';
import { AttestationError, AttestationErrorCode } from './errors.js';

export async function bootstrapTrust(b: Bootstrap, address: HostPort, td: TrustDomain, logger: Logger): Promise<ServerTrust> {
  if (b.kind === 'insecure') {
    const certificate = await probeServerCertificate(address, td);
    logger.warn(
      { serverCertificateSha256: fingerprint(certificate) },
      'agent: insecure bootstrap: trusting the server certificate seen on first contact (its SPIFFE ID was checked, its chain was not)',
    );
    return { kind: 'pinned', certificate };
  }
  let bundle: X509Bundle;
  try {
    bundle = X509Bundle.parse(td, await readFile(b.path));
  } catch (err) {
    throw new AttestationError(AttestationErrorCode.bootstrap, `cannot read the trust bundle ${b.path}: ${messageOf(err)}`, { cause: err });
  }
  if (bundle.isEmpty()) throw new AttestationError(AttestationErrorCode.bootstrap, `the trust bundle ${b.path} holds no certificate`);
  return { kind: 'bundle', authorities: bundle.x509Authorities() };
}
