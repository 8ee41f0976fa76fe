import { SigilError, Status } from '../../spiffe/errors.js';

export const AttestationErrorCode = {
  /** The agent has no valid SVID and nothing to attest with, or its attestation was refused. */
  failed: 'SIGIL_AGENT_ATTESTATION_FAILED',
  /** The server banned the agent: it must stop. */
  banned: 'SIGIL_AGENT_BANNED',
  /** The agent's SVID expired, or the server forgot the agent, and it cannot attest again. */
  lost: 'SIGIL_AGENT_IDENTITY_LOST',
  /** The bootstrap trust bundle cannot be read. */
  bootstrap: 'SIGIL_AGENT_BOOTSTRAP',
} as const;

export type AttestationErrorCode = (typeof AttestationErrorCode)[keyof typeof AttestationErrorCode];

/** Errors that stop the agent; messages say what happened and what an operator can do. */
export class AttestationError extends SigilError {
  declare readonly code: AttestationErrorCode;

  constructor(code: AttestationErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `agent: ${message}`, { status: Status.FAILED_PRECONDITION, cause: options.cause });
  }
}
