import { SigilError, Status, type StatusCode } from '../../spiffe/errors.js';

export const CaErrorCode = {
  /** A request the CA refuses: another trust domain, a bad TTL, a bad public key. */
  invalid: 'SIGIL_CA_INVALID',
  /** Configuration the CA cannot start with. */
  config: 'SIGIL_CA_CONFIG',
  /** Upstream CA material that cannot be read or used; the message names the file. */
  upstream: 'SIGIL_CA_UPSTREAM',
  /** A stored CA journal or bundle that cannot be read. */
  corrupt: 'SIGIL_CA_CORRUPT',
  /** The CA cannot sign now: not started, closed, or its authority has expired. */
  unavailable: 'SIGIL_CA_UNAVAILABLE',
  /** Signing failed in the key manager. */
  signing: 'SIGIL_CA_SIGNING',
  /** A rotation step asked for out of order: activating with nothing prepared. */
  rotation: 'SIGIL_CA_ROTATION',
} as const;

export type CaErrorCode = (typeof CaErrorCode)[keyof typeof CaErrorCode];

const STATUS: Readonly<Record<CaErrorCode, StatusCode>> = {
  SIGIL_CA_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_CA_CONFIG: Status.INVALID_ARGUMENT,
  SIGIL_CA_UPSTREAM: Status.FAILED_PRECONDITION,
  SIGIL_CA_CORRUPT: Status.DATA_LOSS,
  SIGIL_CA_UNAVAILABLE: Status.UNAVAILABLE,
  SIGIL_CA_SIGNING: Status.INTERNAL,
  SIGIL_CA_ROTATION: Status.FAILED_PRECONDITION,
};

/** Messages read `ca: <what was wrong>[; what to do]`. */
export class CaError extends SigilError {
  constructor(code: CaErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `ca: ${message}`, { status: STATUS[code], cause: options.cause });
  }
}
