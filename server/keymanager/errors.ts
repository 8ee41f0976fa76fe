import { SigilError, Status, type SigilErrorOptions } from '../../spiffe/errors.js';

export const KeyManagerErrorCode = {
  /** A bad key id, key type or configuration. */
  invalid: 'SIGIL_KEYMANAGER_INVALID',
  /** A keys file that cannot be read as what the key manager wrote. */
  corrupt: 'SIGIL_KEYMANAGER_CORRUPT',
  /** Reading or writing the key store failed. */
  io: 'SIGIL_KEYMANAGER_IO',
  /** The key manager was closed. */
  closed: 'SIGIL_KEYMANAGER_CLOSED',
  /** The key store (a PKCS#11 token) cannot be reached or cannot sign now; retrying later may work. */
  unavailable: 'SIGIL_KEYMANAGER_UNAVAILABLE',
} as const;

export type KeyManagerErrorCode = (typeof KeyManagerErrorCode)[keyof typeof KeyManagerErrorCode];

const STATUS: Readonly<Record<KeyManagerErrorCode, SigilErrorOptions['status']>> = {
  SIGIL_KEYMANAGER_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_KEYMANAGER_CORRUPT: Status.DATA_LOSS,
  SIGIL_KEYMANAGER_IO: Status.UNAVAILABLE,
  SIGIL_KEYMANAGER_CLOSED: Status.FAILED_PRECONDITION,
  SIGIL_KEYMANAGER_UNAVAILABLE: Status.UNAVAILABLE,
};

/** Messages read `keymanager(<type>): <what was wrong>`, as SPIRE's plugin facade prefixes them. */
export class KeyManagerError extends SigilError {
  constructor(type: string, code: KeyManagerErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `keymanager(${type}): ${message}`, { status: STATUS[code], cause: options.cause });
  }
}
