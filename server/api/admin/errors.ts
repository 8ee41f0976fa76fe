import { SigilError, Status, type StatusCode } from '../../../spiffe/errors.js';

export const AdminErrorCode = {
  /** A request that cannot be served as sent: a missing id, an unknown enum value, a bad entry in a batch. */
  invalid: 'SIGIL_ADMIN_INVALID',
  /** A batch that repeats one of its own entries (same spiffe_id, parent_id and selectors). */
  duplicate: 'SIGIL_ADMIN_DUPLICATE',
  /** The admin socket cannot be set up: another server holds it, or the path is not usable. */
  socket: 'SIGIL_ADMIN_SOCKET',
} as const;

export type AdminErrorCode = (typeof AdminErrorCode)[keyof typeof AdminErrorCode];

const STATUS: Readonly<Record<AdminErrorCode, StatusCode>> = {
  SIGIL_ADMIN_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_ADMIN_DUPLICATE: Status.ALREADY_EXISTS,
  SIGIL_ADMIN_SOCKET: Status.FAILED_PRECONDITION,
};

export class AdminError extends SigilError {
  declare readonly code: AdminErrorCode;

  constructor(code: AdminErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { status: STATUS[code], cause: options.cause });
  }
}

/** Messages name the noun and field, as entry validation does: `agent: spiffe_id: …`. */
export const invalidRequest = (message: string): AdminError => new AdminError(AdminErrorCode.invalid, message);
