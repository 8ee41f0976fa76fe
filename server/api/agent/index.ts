/**
 * The server's agent API (proto/sigil/agent/v1/agent.proto) on TCP with TLS: attestation, SVID
 * renewal and minting, pushed entry sync and bundle watch. `sigil server run` creates it with the
 * datastore and CA it already has, starts it on the configured address and stops it on shutdown.
 *
 * start() reads the bundle, loads the authorization index from the datastore and starts following
 * its change events, then listens. Nothing on the path from a datastore change to an agent's
 * stream waits for a timer.
 */
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import type { ServerNodeAttestor } from '../../../attestors/node/node-attestor.js';
import { messageOf } from '../../../spiffe/errors.js';
import type { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { AuthorizedEntries } from '../../authz/authorized-entries.js';
import { AuthzFeed, type AuthzFeedOptions } from '../../authz/feed.js';
import type { ServerCa } from '../../ca/index.js';
import type { Datastore } from '../../datastore/datastore.js';
import { BundleWatch } from './bundle-watch.js';
import { DEFAULT_LIMITS, type AgentApiContext, type AgentApiLimits } from './context.js';
import { AgentApiError, AgentApiErrorCode, denied } from './errors.js';
import type { Logger } from './logger.js';
import { PeerAuthenticator } from './peer-auth.js';
import { agentApiServer } from './service.js';
import { StreamRegistry } from './streams.js';
import { TlsListener } from './tls.js';

export type { Logger } from './logger.js';
export type { AgentApiLimits } from './context.js';
export { builtinServerNodeAttestors } from './node-attestors.js';
export { AGENT_API_PROTO, AGENT_API_SERVICE } from './service.js';
export { REASON_METADATA_KEY, type DenyReason } from './errors.js';

export interface AgentApiDeps {
  trustDomain: TrustDomain;
  datastore: Datastore;
  ca: ServerCa;
  attestors: ServerNodeAttestor[];
  logger: Logger;
  /** Names agents dial the server by, in its certificate besides `localhost`. */
  serverDnsNames?: string[];
}

/** Tuning the server process need not set; tests shorten things with it. */
export interface AgentApiOptions {
  limits?: Partial<AgentApiLimits>;
  /** How long an idle agent's authorized set and change history are kept, in ms (default 10 min). */
  retentionMs?: number;
  feed?: Pick<AuthzFeedOptions, 'bulkThreshold' | 'tail'>;
  now?: () => Date;
}

export interface AgentApi {
  start(bind: { host: string; port: number }): Promise<{ port: number }>;
  /** Ends every stream (Unavailable), stops following changes and closes the listener. */
  stop(): Promise<void>;
}

interface Running {
  feed: AuthzFeed;
  index: AuthorizedEntries;
  streams: StreamRegistry;
  server: Server;
  tls: TlsListener;
}

const SHUTDOWN_GRACE_MS = 2000;

export function createAgentApi(deps: AgentApiDeps, options: AgentApiOptions = {}): AgentApi {
  const types = deps.attestors.map((a) => a.type);
  const twice = types.find((t, i) => types.indexOf(t) !== i);
  if (twice !== undefined) throw new AgentApiError(AgentApiErrorCode.precondition, `node attestor ${JSON.stringify(twice)} is configured twice`);
  const log = deps.logger.child({ component: 'agentapi' });
  let running: Running | undefined;
  let starting = false;

  const start = async (bind: { host: string; port: number }): Promise<{ port: number }> => {
    if (running !== undefined || starting) throw new AgentApiError(AgentApiErrorCode.precondition, 'the agent API is already started');
    starting = true;
    const undo: (() => void | Promise<void>)[] = [];
    try {
      running = await open(deps, options, log, bind, undo);
      log.info({ port: running.tls.port, serverId: deps.ca.serverId.toString() }, 'agentapi: listening');
      return { port: running.tls.port };
    } catch (err) {
      for (const fn of undo.reverse()) await fn();
      throw err;
    } finally {
      starting = false;
    }
  };

  const stop = async (): Promise<void> => {
    const r = running;
    running = undefined;
    if (r === undefined) return;
    r.streams.closeAll(new AgentApiError(AgentApiErrorCode.unavailable, 'the server is stopping'));
    r.feed.stop();
    r.index.close();
    await shutdown(r.server);
    await r.tls.close();
    log.info({}, 'agentapi: stopped');
  };

  return { start, stop };
}

async function open(
  deps: AgentApiDeps,
  options: AgentApiOptions,
  log: Logger,
  bind: { host: string; port: number },
  undo: (() => void | Promise<void>)[],
): Promise<Running> {
  const { trustDomain, datastore, ca } = deps;
  const bundles = await BundleWatch.start(ca, log);
  const streams = new StreamRegistry();
  const index = new AuthorizedEntries(ca.serverId.toString(), {
    retentionMs: options.retentionMs,
    onListenerError: (err, agentId) => log.error({ agentId, err: messageOf(err) }, 'agentapi: pushing to an agent failed'),
  });
  undo.push(() => index.close());
  const feed = await AuthzFeed.start({
    ...options.feed,
    datastore,
    index,
    logger: log,
    onRevoked: (revoked) => {
      for (const { agentId, reason } of revoked) {
        const err =
          reason === 'banned' ? denied('agent is banned', 'AGENT_BANNED') : denied('agent not attested: it was evicted', 'AGENT_NOT_ATTESTED');
        const closed = streams.closeAgent(agentId, err);
        log.info({ agentId, reason, closedStreams: closed }, `agentapi: agent ${reason}`);
      }
    },
    onBundleChanged: (td) => {
      if (td === undefined || td === trustDomain.name) void bundles.refresh();
    },
  });
  undo.push(() => feed.stop());
  let tls: TlsListener | undefined;
  const auth = new PeerAuthenticator({
    trustDomain,
    agents: datastore.agents,
    bundles,
    socketOf: (peer) => tls?.socketOf(peer),
    noteAgent: (record) => index.noteAgent(record),
    logger: log,
    now: options.now,
  });
  const ctx: AgentApiContext = {
    trustDomain, datastore, ca, logger: log, auth, index, streams, bundles,
    attestors: new Map(deps.attestors.map((a) => [a.type, a])),
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    now: options.now ?? (() => new Date()),
  };
  const server = agentApiServer(ctx);
  undo.push(() => server.forceShutdown());
  const injector = server.createConnectionInjector(ServerCredentials.createInsecure());
  const listener = await TlsListener.listen(bind, {
    ca,
    dnsNames: deps.serverDnsNames ?? [],
    roots: bundles.current.bundle.x509Authorities(),
    logger: log,
    onConnection: (socket) => injector.injectConnection(socket),
  });
  tls = listener;
  bundles.subscribe((s) => listener.setRoots(s.bundle.x509Authorities()));
  return { feed, index, streams, server, tls: listener };
}

/** Lets calls finish for a moment (streams were already told to end), then cuts the rest. */
async function shutdown(server: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
