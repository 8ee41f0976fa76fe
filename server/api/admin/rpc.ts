/**
 * Every handler goes through unary(): whatever it throws or rejects with becomes a gRPC status and
 * never an uncaught exception, so a malformed or hostile request cannot take the server down.
 */
import { status, type handleUnaryCall, type ServerErrorResponse } from '@grpc/grpc-js';
import { messageOf, SigilError, Status } from '../../../spiffe/errors.js';
import type { AdminLogger } from './deps.js';

// Statuses that mean the server, not the request, is at fault: worth a warning in its log.
const SERVER_SIDE = new Set<number>([Status.INTERNAL, Status.UNAVAILABLE, Status.DATA_LOSS, Status.UNKNOWN]);

export function toServiceError(err: unknown, method: string, logger: AdminLogger): Partial<ServerErrorResponse> {
  if (err instanceof SigilError) {
    const log = SERVER_SIDE.has(err.status) ? logger.warn.bind(logger) : logger.debug.bind(logger);
    log(`admin: ${method} failed: ${err.message}`, { method, code: err.code, status: err.status });
    return { code: err.status, details: err.message };
  }
  logger.error(`admin: ${method} failed unexpectedly: ${messageOf(err)}`, {
    method,
    stack: err instanceof Error ? err.stack : undefined,
  });
  return { code: status.INTERNAL, details: `admin: internal error in ${method}: ${messageOf(err)} (details in the server log)` };
}

/** Adapts `fn(request) → Promise<response>` to grpc-js, mapping every failure to a status. */
export function unary<Req, Res>(logger: AdminLogger, method: string, fn: (req: Partial<Req>) => Promise<Res>): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let result: Promise<Res>;
    try {
      // A request that decoded to nothing usable (null fields, wrong shapes) must still reach
      // fn's checks as an object.
      result = fn((call.request ?? {}) as Partial<Req>);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (res) => callback(null, res),
      (err: unknown) => callback(toServiceError(err, method, logger)),
    );
  };
}
