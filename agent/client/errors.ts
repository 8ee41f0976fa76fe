/**
 * What the agent reads from the server's refusals. A PermissionDenied carries `sigil-reason` in its
 * trailing metadata so the agent can tell "attest again" from "stop" without parsing messages.
 */
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { SigilError, Status, type StatusCode } from '../../spiffe/errors.js';

export const REASON_METADATA_KEY = 'sigil-reason';

export const DENY_REASONS = ['AGENT_BANNED', 'AGENT_NOT_ATTESTED', 'AGENT_NOT_ACTIVE', 'AGENT_MUST_REATTEST', 'NOT_AN_AGENT'] as const;

export type DenyReason = (typeof DENY_REASONS)[number];

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && (err as Partial<ServiceError>).metadata instanceof Metadata;
}

/** The `sigil-reason` of a PermissionDenied, if the server gave one. */
export function denyReason(err: unknown): DenyReason | undefined {
  if (!isServiceError(err) || err.code !== GrpcStatus.PERMISSION_DENIED) return undefined;
  const value = err.metadata.get(REASON_METADATA_KEY)[0];
  const text = typeof value === 'string' ? value : value?.toString();
  return (DENY_REASONS as readonly string[]).includes(text ?? '') ? (text as DenyReason) : undefined;
}

export function grpcCode(err: unknown): number | undefined {
  return isServiceError(err) ? err.code : undefined;
}

export const AgentClientErrorCode = {
  /** The server's certificate is not what the agent was told to trust. */
  untrusted: 'SIGIL_AGENT_SERVER_UNTRUSTED',
  /** The server answered something the protocol does not allow. */
  protocol: 'SIGIL_AGENT_SERVER_PROTOCOL',
  /** The server cannot be reached. */
  unavailable: 'SIGIL_AGENT_SERVER_UNAVAILABLE',
} as const;

export type AgentClientErrorCode = (typeof AgentClientErrorCode)[keyof typeof AgentClientErrorCode];

const STATUS: Readonly<Record<AgentClientErrorCode, StatusCode>> = {
  SIGIL_AGENT_SERVER_UNTRUSTED: Status.UNAVAILABLE,
  SIGIL_AGENT_SERVER_PROTOCOL: Status.INTERNAL,
  SIGIL_AGENT_SERVER_UNAVAILABLE: Status.UNAVAILABLE,
};

export class AgentClientError extends SigilError {
  declare readonly code: AgentClientErrorCode;

  constructor(code: AgentClientErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `agent client: ${message}`, { status: STATUS[code], cause: options.cause });
  }
}

/** Statuses after which the same call may succeed later: the server is down, restarting or busy. */
export function isTransient(err: unknown): boolean {
  const code = grpcCode(err);
  if (code === undefined) return err instanceof AgentClientError && err.code === AgentClientErrorCode.unavailable;
  return (
    code === GrpcStatus.UNAVAILABLE ||
    code === GrpcStatus.DEADLINE_EXCEEDED ||
    code === GrpcStatus.RESOURCE_EXHAUSTED ||
    code === GrpcStatus.ABORTED ||
    code === GrpcStatus.CANCELLED ||
    code === GrpcStatus.INTERNAL ||
    code === GrpcStatus.UNKNOWN
  );
}
