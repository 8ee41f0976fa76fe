/**
 * The SpiffeWorkloadAPI service as grpc-js serves it: workload.proto's definition, except that the
 * three streams send bytes encoded once in encode.ts, so their serializer passes a Buffer through
 * (grpc-js frames whatever the serializer returns). Requests and the unary responses use the
 * proto's own serializers.
 */
import {
  status, type handleServerStreamingCall, type ServerWritableStream, type ServiceDefinition, type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import { WORKLOAD_API_SERVICE } from '../../spiffe/workloadapi/index.js';
import { checkSecurityHeader } from './caller.js';
import type { HandlerContext } from './context.js';
import { fetchJwtBundles, fetchJwtSvid } from './jwt.js';
import { RpcError, toStatus } from './status.js';
import { validateJwtSvid } from './validate.js';
import { fetchX509Bundles, fetchX509Svid } from './x509.js';

const PRE_ENCODED = new Set(['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles']);

const passthrough = (bytes: Buffer): Buffer => {
  if (!Buffer.isBuffer(bytes)) throw new TypeError('a pre-encoded Workload API stream was handed a message, not bytes');
  return bytes;
};

export function workloadServiceDefinition(): ServiceDefinition {
  const def = loadProto('workload.proto')[WORKLOAD_API_SERVICE] as ServiceDefinition;
  return Object.fromEntries(
    Object.entries(def).map(([name, method]) => [name, PRE_ENCODED.has(name) ? { ...method, responseSerialize: passthrough } : method]),
  );
}

export function workloadServiceHandlers(ctx: HandlerContext): UntypedServiceImplementation {
  // The WIT profile is incubating; the spec says to answer Unimplemented, after the header check
  // every Workload API method makes.
  const unimplemented =
    (method: string): handleServerStreamingCall<unknown, unknown> =>
    (call: ServerWritableStream<unknown, unknown>) => {
      try {
        checkSecurityHeader(call.metadata);
        throw new RpcError(status.UNIMPLEMENTED, `${method} is not implemented: sigil does not serve the WIT-SVID profile`);
      } catch (err) {
        call.emit('error', toStatus(err, ctx.logger, method));
      }
    };
  return {
    FetchX509SVID: fetchX509Svid(ctx),
    FetchX509Bundles: fetchX509Bundles(ctx),
    FetchJWTSVID: fetchJwtSvid(ctx),
    FetchJWTBundles: fetchJwtBundles(ctx),
    ValidateJWTSVID: validateJwtSvid(ctx),
    FetchWITSVID: unimplemented('FetchWITSVID'),
    FetchWITBundles: unimplemented('FetchWITBundles'),
  } as UntypedServiceImplementation;
}
