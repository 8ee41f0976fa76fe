import { SigilError, type SigilErrorOptions } from '../errors.js';

/**
 * Every X.509-SVID parse or verification failure. Messages start `x509svid: ` and, for the checks
 * go-spiffe also makes, are go-spiffe's texts byte for byte, so logs read the same across sigil,
 * SPIRE and go-spiffe workloads. Match on `code`, not on the message.
 */
export class X509SvidError extends SigilError {
  constructor(message: string, options: SigilErrorOptions = {}) {
    super('SIGIL_X509SVID_INVALID', `x509svid: ${message}`, options);
  }
}
