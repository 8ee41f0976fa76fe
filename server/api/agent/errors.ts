/**
 * The agent API's own refusals, and the one conversion from any error to a gRPC status. Every
 * SigilError already carries its status; anything else is a bug and reported as Internal with a
 * generic message (its text may hold what a client should not see), logged in full by the caller.
 */
import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { SigilError, Status, type StatusCode } from '../../../spiffe/errors.js';

export const AgentApiErrorCode = {
  /** A malformed request: bad protobuf, missing field, bad CSR. */
  invalid: 'SIGIL_AGENTAPI_INVALID',
  /** No usable client certificate. */
  unauthenticated: 'SIGIL_AGENTAPI_UNAUTHENTICATED',
  /** The caller may not do this (banned, not attested, not its entry). */
  denied: 'SIGIL_AGENTAPI_DENIED',
  /** The request is larger than the server takes in one call, or the client reads too slowly. */
  tooLarge: 'SIGIL_AGENTAPI_TOO_LARGE',
  /** The attestor type is not configured on this server. */
  precondition: 'SIGIL_AGENTAPI_PRECONDITION',
  /** The call took longer than the server allows (an attestation that never finishes). */
  deadline: 'SIGIL_AGENTAPI_DEADLINE',
  /** The server cannot serve now (stopping, not caught up yet). */
  unavailable: 'SIGIL_AGENTAPI_UNAVAILABLE',
  internal: 'SIGIL_AGENTAPI_INTERNAL',
} as const;

export type AgentApiErrorCode = (typeof AgentApiErrorCode)[keyof typeof AgentApiErrorCode];

const STATUS: Readonly<Record<AgentApiErrorCode, StatusCode>> = {
  SIGIL_AGENTAPI_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_AGENTAPI_UNAUTHENTICATED: Status.UNAUTHENTICATED,
  SIGIL_AGENTAPI_DENIED: Status.PERMISSION_DENIED,
  SIGIL_AGENTAPI_TOO_LARGE: Status.RESOURCE_EXHAUSTED,
  SIGIL_AGENTAPI_PRECONDITION: Status.FAILED_PRECONDITION,
  SIGIL_AGENTAPI_DEADLINE: Status.DEADLINE_EXCEEDED,
  SIGIL_AGENTAPI_UNAVAILABLE: Status.UNAVAILABLE,
  SIGIL_AGENTAPI_INTERNAL: Status.INTERNAL,
};

/** Why an agent is refused; sent as `sigil-reason` so that the agent knows whether to re-attest or stop. */
export type DenyReason = 'AGENT_BANNED' | 'AGENT_NOT_ATTESTED' | 'AGENT_NOT_ACTIVE' | 'AGENT_MUST_REATTEST' | 'NOT_AN_AGENT';

export const REASON_METADATA_KEY = 'sigil-reason';

/** Messages read `agentapi: <what was wrong>`. */
export class AgentApiError extends SigilError {
  declare readonly code: AgentApiErrorCode;
  readonly reason: DenyReason | undefined;

  constructor(code: AgentApiErrorCode, message: string, options: { cause?: unknown; reason?: DenyReason } = {}) {
    super(code, `agentapi: ${message}`, { status: STATUS[code], cause: options.cause });
    this.reason = options.reason;
  }
}

export const invalid = (message: string, cause?: unknown): AgentApiError =>
  new AgentApiError(AgentApiErrorCode.invalid, message, { cause });

export const denied = (message: string, reason?: DenyReason): AgentApiError =>
  new AgentApiError(AgentApiErrorCode.denied, message, { reason });

/** The status a client receives for `err`. */
export function toStatus(err: unknown): Partial<StatusObject> & Pick<ServiceError, 'code' | 'details'> & { metadata: Metadata } {
  const metadata = new Metadata();
  if (err instanceof AgentApiError && err.reason !== undefined) metadata.set(REASON_METADATA_KEY, err.reason);
  if (err instanceof SigilError) return { code: err.status as GrpcStatus, details: err.message, metadata };
  return { code: GrpcStatus.INTERNAL, details: 'agentapi: internal error', metadata };
}

/** True for errors that are the server's fault (log them as errors, not as refusals). */
export function isServerFault(err: unknown): boolean {
  if (!(err instanceof SigilError)) return true;
  return err.status === Status.INTERNAL || err.status === Status.DATA_LOSS || err.status === Status.UNKNOWN;
}
