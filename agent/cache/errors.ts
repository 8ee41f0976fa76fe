import { SigilError, Status, type StatusCode } from '../../spiffe/errors.js';

export const CacheErrorCode = {
  /** The caller does not hold the identity it asked a JWT-SVID for (any more). */
  noIdentity: 'SIGIL_AGENT_NO_IDENTITY',
  /** The server could not be reached and nothing usable is cached. */
  unavailable: 'SIGIL_AGENT_UNAVAILABLE',
  /** The server refused to mint (its status is kept). */
  refused: 'SIGIL_AGENT_MINT_REFUSED',
} as const;

export type CacheErrorCode = (typeof CacheErrorCode)[keyof typeof CacheErrorCode];

/** Messages read `agent: <what went wrong>`; `status` is what a Workload API handler answers with. */
export class CacheError extends SigilError {
  declare readonly code: CacheErrorCode;

  constructor(code: CacheErrorCode, message: string, options: { status?: StatusCode; cause?: unknown } = {}) {
    const status = options.status ?? (code === CacheErrorCode.noIdentity ? Status.PERMISSION_DENIED : Status.UNAVAILABLE);
    super(code, `agent: ${message}`, { status, cause: options.cause });
  }
}
