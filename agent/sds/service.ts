/**
 * envoy.service.secret.v3.SecretDiscoveryService as served on the agent socket, from the subset in
 * proto/envoy/. The two streams encode their responses themselves (each stream has its own version
 * and nonce), so their serializer passes the bytes through.
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadProto } from '../../proto/load.js';
import type { SocketService } from '../workloadapi/deps.js';
import { DeltaStream, foldDelta } from './delta.js';
import { fetchSecrets } from './fetch.js';
import { SDS_SERVICE, type DeltaDiscoveryResponseMsg, type DiscoveryResponseMsg } from './messages.js';
import { SotwStream } from './sotw.js';
import { secretsStream, type SdsOptions } from './stream.js';

/** The service file and the two messages packed into Anys, which must share its root. */
export const SDS_PROTO_FILES = [
  'envoy/service/secret/v3/sds.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.proto',
] as const;

type Serialize = (value: object) => Buffer;

export function sdsDefinition(): ServiceDefinition {
  return loadProto(SDS_PROTO_FILES)[SDS_SERVICE] as ServiceDefinition;
}

const passthrough = (bytes: Buffer): Buffer => {
  if (!Buffer.isBuffer(bytes)) throw new TypeError('an SDS stream was handed a message, not bytes');
  return bytes;
};

function serializerOf(def: ServiceDefinition, method: string): Serialize {
  const m = def[method];
  if (m === undefined) throw new Error(`sds.proto has no ${method}`);
  return m.responseSerialize as Serialize;
}

export function sdsService(opts: SdsOptions): SocketService {
  const def = sdsDefinition();
  const encodeSotw = serializerOf(def, 'StreamSecrets');
  const encodeDelta = serializerOf(def, 'DeltaSecrets');
  const definition: ServiceDefinition = {
    ...def,
    StreamSecrets: { ...def['StreamSecrets']!, responseSerialize: passthrough },
    DeltaSecrets: { ...def['DeltaSecrets']!, responseSerialize: passthrough },
  };
  return {
    definition,
    handlers: (ctx) => ({
      StreamSecrets: secretsStream(ctx, opts, 'StreamSecrets', (res: DiscoveryResponseMsg) => encodeSotw(res), (s, send) => new SotwStream(s, send)),
      DeltaSecrets: secretsStream(ctx, opts, 'DeltaSecrets', (res: DeltaDiscoveryResponseMsg) => encodeDelta(res), (s, send) => new DeltaStream(s, send), foldDelta),
      FetchSecrets: fetchSecrets(ctx, opts),
    }),
  };
}
