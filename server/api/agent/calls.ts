/**
 * The glue between handlers (async functions that return or throw) and grpc-js calls: decoding
 * failures become InvalidArgument instead of grpc-js's Internal, errors become statuses in one
 * place, and faults of the server's own are logged in full while refusals stay one line.
 */
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServerDuplexStream } from '@grpc/grpc-js';
import { messageOf } from '../../../spiffe/errors.js';
import { invalid, isServerFault, toStatus } from './errors.js';
import type { Logger } from './logger.js';

/** What a request decoder returns for bytes that are not the message they should be. */
export class UndecodableMessage {
  constructor(readonly reason: string) {}
}

/** Wraps a proto-loader deserializer so that bad bytes reach the handler as UndecodableMessage. */
export function tolerantDecoder<T>(decode: (bytes: Buffer) => T): (bytes: Buffer) => T | UndecodableMessage {
  return (bytes) => {
    try {
      return decode(bytes);
    } catch (err) {
      return new UndecodableMessage(messageOf(err));
    }
  };
}

/** The request, or InvalidArgument naming the message type when it could not be decoded. */
export function decoded<T>(message: T | UndecodableMessage, type: string): T {
  if (message instanceof UndecodableMessage) throw invalid(`the request is not a valid ${type} message: ${message.reason}`);
  return message;
}

export function reportFailure(logger: Logger, method: string, peer: string, err: unknown): void {
  if (isServerFault(err)) logger.error({ method, peer, err: messageOf(err), stack: err instanceof Error ? err.stack : undefined }, 'agentapi: call failed');
  else logger.debug({ method, peer, err: messageOf(err) }, 'agentapi: call refused');
}

export function unary<Req, Res>(
  logger: Logger,
  method: string,
  handle: (call: ServerUnaryCall<Req | UndecodableMessage, Res>) => Promise<Res>,
): (call: ServerUnaryCall<Req | UndecodableMessage, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    handle(call).then(
      (res) => callback(null, res),
      (err: unknown) => {
        reportFailure(logger, method, call.getPeer(), err);
        callback(toStatus(err));
      },
    );
  };
}

type AnyStream = ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>;

/** Ends a stream with `err`'s status, after any messages already queued on it. */
export function failStream(stream: AnyStream, err: unknown): void {
  stream.emit('error', toStatus(err));
}
