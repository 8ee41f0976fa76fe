/**
 * The server's admin API (sigil.admin.v1) on a Unix socket: registration entries, agents, join
 * tokens, the bundle, the CA's authorities and health, for `sigil server
 * entry|agent|token|bundle|ca|healthcheck`. There is no authentication beyond the socket's file
 * permissions: like SPIRE's "local" callers, whoever can open it is an administrator.
 */
import { chmodSync } from 'node:fs';
import { resolve } from 'node:path';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { loadProto } from '../../../proto/load.js';
import { messageOf } from '../../../spiffe/errors.js';
import { DEFAULT_CA_TTL_SECONDS } from '../../ca/index.js';
import { maxSvidTtlSeconds } from '../../ca/requests.js';
import { agentService } from './agents.js';
import { bundleService } from './bundle.js';
import { caService } from './ca.js';
import type { HandlerContext } from './context.js';
import type { AdminApiDeps } from './deps.js';
import { entryService } from './entries.js';
import { AdminError, AdminErrorCode } from './errors.js';
import { healthService } from './health.js';
import { prepareSocketPath, removeSocket, socketIdentity } from './socket.js';
import { tokenService } from './tokens.js';

export type { AdminApiDeps, AdminLogger, HealthReport } from './deps.js';
export { AdminError, AdminErrorCode } from './errors.js';
export { DEFAULT_JOIN_TOKEN_TTL_SECONDS, joinTokenAgentId } from './tokens.js';

export interface AdminApi {
  /** Listens on `socketPath` (directory 0700, socket 0600); rejects if another server holds it. */
  start(socketPath: string): Promise<void>;
  /** Stops taking calls, lets running ones finish (up to 5 s), and removes the socket file. */
  stop(): Promise<void>;
}

const PACKAGE = 'sigil.admin.v1';
// Local callers only; large enough for a batch create of tens of thousands of entries.
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const GRACEFUL_STOP_MS = 5000;

export function createAdminApi(deps: AdminApiDeps): AdminApi {
  const defaultMax = maxSvidTtlSeconds(DEFAULT_CA_TTL_SECONDS);
  const ctx: HandlerContext = {
    trustDomain: deps.trustDomain,
    datastore: deps.datastore,
    ca: deps.ca,
    logger: deps.logger,
    health: deps.health,
    limits: {
      trustDomain: deps.trustDomain,
      maxX509SvidTtl: deps.maxX509SvidTtlSeconds ?? defaultMax,
      maxJwtSvidTtl: deps.maxJwtSvidTtlSeconds ?? defaultMax,
    },
  };
  let running: { server: Server; path: string; identity: { dev: number; ino: number } } | undefined;
  let starting = false;

  return {
    async start(socketPath: string): Promise<void> {
      if (running || starting) throw new AdminError(AdminErrorCode.socket, 'admin socket: the admin API is already started');
      starting = true;
      try {
        const path = resolve(socketPath);
        await prepareSocketPath(path, deps.logger);
        const server = newServer(ctx);
        await bind(server, path);
        try {
          chmodSync(path, 0o600);
          running = { server, path, identity: socketIdentity(path) };
        } catch (err) {
          server.forceShutdown();
          throw new AdminError(AdminErrorCode.socket, `admin socket: cannot restrict ${path} to its owner: ${messageOf(err)}`, { cause: err });
        }
        deps.logger.info(`admin: API listening on ${path}`, { socket: path });
      } finally {
        starting = false;
      }
    },

    async stop(): Promise<void> {
      const r = running;
      if (!r) return;
      running = undefined;
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          deps.logger.warn('admin: calls still running after 5 s; cancelling them');
          r.server.forceShutdown();
          done();
        }, GRACEFUL_STOP_MS);
        r.server.tryShutdown(() => {
          clearTimeout(timer);
          done();
        });
      });
      removeSocket(r.path, r.identity, deps.logger);
      deps.logger.info(`admin: API on ${r.path} stopped`);
    },
  };
}

function newServer(ctx: HandlerContext): Server {
  const def = loadProto('sigil/admin/v1/admin.proto');
  const service = (name: string): ServiceDefinition => def[`${PACKAGE}.${name}`] as ServiceDefinition;
  const server = new Server({
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
  });
  server.addService(service('EntryService'), entryService(ctx));
  server.addService(service('AgentService'), agentService(ctx));
  server.addService(service('TokenService'), tokenService(ctx));
  server.addService(service('BundleService'), bundleService(ctx));
  server.addService(service('CaService'), caService(ctx));
  server.addService(service('HealthService'), healthService(ctx));
  return server;
}

function bind(server: Server, path: string): Promise<void> {
  return new Promise((done, fail) => {
    server.bindAsync(`unix:${path}`, ServerCredentials.createInsecure(), (err) => {
      if (err) fail(new AdminError(AdminErrorCode.socket, `admin socket: cannot listen on ${path}: ${err.message}`, { cause: err }));
      else done();
    });
  });
}
