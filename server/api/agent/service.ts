/**
 * The AgentAPI gRPC service: the proto's definition with forgiving request decoders, and each RPC
 * bound to its handler. Handlers live one per RPC beside this file.
 */
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadProto } from '../../../proto/load.js';
import { attestHandler } from './attest.js';
import { tolerantDecoder, unary } from './calls.js';
import type { AgentApiContext } from './context.js';
import { mintJwtSvid } from './mint-jwt.js';
import { mintX509Svids } from './mint-x509.js';
import { renew } from './renew.js';
import { syncEntriesHandler } from './sync-entries.js';
import { watchBundleHandler } from './watch-bundle.js';

export const AGENT_API_PROTO = 'sigil/agent/v1/agent.proto';
export const AGENT_API_SERVICE = 'sigil.agent.v1.AgentAPI';

/** The service definition, with decoders that hand bad bytes to the handler (InvalidArgument) instead of failing Internal. */
export function agentApiDefinition(): ServiceDefinition {
  const raw = loadProto(AGENT_API_PROTO)[AGENT_API_SERVICE] as Record<string, MethodDefinition<object, object>>;
  const out: Record<string, MethodDefinition<object, object>> = {};
  for (const [name, method] of Object.entries(raw)) {
    out[name] = { ...method, requestDeserialize: tolerantDecoder(method.requestDeserialize) as (b: Buffer) => object };
  }
  return out as ServiceDefinition;
}

export function agentApiImplementation(ctx: AgentApiContext): UntypedServiceImplementation {
  const log = ctx.logger;
  return {
    Attest: attestHandler(ctx),
    Renew: unary(log, 'Renew', (call) => renew(ctx, call)),
    SyncEntries: syncEntriesHandler(ctx),
    MintX509SVIDs: unary(log, 'MintX509SVIDs', (call) => mintX509Svids(ctx, call)),
    MintJWTSVID: unary(log, 'MintJWTSVID', (call) => mintJwtSvid(ctx, call)),
    WatchBundle: watchBundleHandler(ctx),
  } as UntypedServiceImplementation;
}

/**
 * A gRPC server for the agent API. Keepalive pings find agents that vanished without closing their
 * connection, so their streams end and their state is released.
 */
export function agentApiServer(ctx: AgentApiContext): Server {
  const server = new Server({
    'grpc.keepalive_time_ms': 60_000,
    'grpc.keepalive_timeout_ms': 20_000,
  });
  server.addService(agentApiDefinition(), agentApiImplementation(ctx));
  return server;
}
