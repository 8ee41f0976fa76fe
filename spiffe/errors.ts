/**
 * The error base of the whole project. Every error sigil raises on purpose is a SigilError: it
 * carries a stable `code` (match on it, not on the message) and the gRPC status an API handler
 * returns for it, so no layer has to guess how to report an error it did not create.
 *
 * The numbers are the gRPC status codes (grpc/include/grpc/impl/codegen/status.h); spiffe/ is
 * pure and cannot import @grpc/grpc-js, so they are repeated here once.
 */
export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

export type StatusCode = (typeof Status)[keyof typeof Status];

export interface SigilErrorOptions {
  /** gRPC status for API handlers; defaults to INVALID_ARGUMENT (most errors are bad input). */
  status?: StatusCode;
  cause?: unknown;
}

export class SigilError extends Error {
  /** Stable machine-readable code, e.g. `SIGIL_SPIFFEID_INVALID`. */
  readonly code: string;
  /** gRPC status code an API handler reports this error with. */
  readonly status: StatusCode;

  constructor(code: string, message: string, options: SigilErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? Status.INVALID_ARGUMENT;
  }
}

/** The message of anything thrown, for wrapping errors from libraries we do not control. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
