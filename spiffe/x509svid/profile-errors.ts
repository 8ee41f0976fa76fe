import { SigilError, type SigilErrorOptions } from '../errors.js';

/**
 * A certificate could not be issued under the X.509-SVID profile: a bad template input (root-path
 * leaf ID, empty validity window, unsupported key), an issuer that cannot issue, or a signer whose
 * output is not a valid signature. Messages read `x509svid: <rule>`, like the rest of the module.
 */
export class X509ProfileError extends SigilError {
  constructor(message: string, options: SigilErrorOptions = {}) {
    super('SIGIL_X509_PROFILE_INVALID', `x509svid: ${message}`, options);
  }
}
