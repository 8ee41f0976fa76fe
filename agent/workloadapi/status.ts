/**
 * How the Workload API fails: a gRPC status with SPIRE's texts where SPIRE has one, so an operator
 * reading a go-spiffe client's error finds the same words in either project's docs.
 */
import { status, type StatusObject } from '@grpc/grpc-js';
import { SigilError, messageOf } from '../../spiffe/errors.js';
import type { WorkloadApiLogger } from './logger.js';

export type RpcStatus = Pick<StatusObject, 'code' | 'details'>;

/** A refusal decided on purpose; its status goes to the caller as is. */
export class RpcError extends Error {
  readonly code: status;
  constructor(code: status, details: string) {
    super(details);
    this.name = 'RpcError';
    this.code = code;
  }
  get details(): string {
    return this.message;
  }
}

export const Refusal = {
  headerMissing: (): RpcError => new RpcError(status.INVALID_ARGUMENT, 'security header missing from request'),
  noIdentity: (): RpcError => new RpcError(status.PERMISSION_DENIED, 'no identity issued'),
  callerGone: (): RpcError => new RpcError(status.UNAUTHENTICATED, 'could not verify existence of the original caller'),
  attestationFailed: (): RpcError => new RpcError(status.UNAVAILABLE, 'workload attestation failed'),
} as const;

/**
 * The status for anything a handler threw: RpcErrors and SigilErrors carry theirs; anything else is
 * a bug or a library failure, logged in full and answered as Internal without internals.
 */
export function toStatus(err: unknown, logger: WorkloadApiLogger, method: string): RpcStatus {
  if (err instanceof RpcError) return { code: err.code, details: err.details };
  if (err instanceof SigilError) return { code: err.status as number as status, details: err.message };
  logger.error({ method, err: messageOf(err), stack: err instanceof Error ? err.stack : undefined }, 'workload api: internal error');
  return { code: status.INTERNAL, details: 'internal error' };
}
