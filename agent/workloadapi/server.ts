/**
 * The Workload API endpoint: a net.Server on the Unix socket that asks the kernel who connected
 * (peer-tracker.ts) before handing each connection to grpc-js through a connection injector, so
 * every call's handler can find its caller's process by `call.getPeer()`. grpc-js offers no other
 * way: on a Unix socket its own listener gives handlers neither a peer address nor credentials.
 * The same socket serves grpc.health.v1 for `sigil agent healthcheck`, and whatever further services
 * the agent passes (Envoy SDS, agent/sds/).
 */
import { Server, ServerCredentials, type ConnectionInjector } from '@grpc/grpc-js';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { messageOf } from '../../spiffe/errors.js';
import type { HandlerContext } from './context.js';
import type { WorkloadApiDeps } from './deps.js';
import { SharedResponses } from './encode.js';
import { healthCheck, healthServiceDefinition } from './health.js';
import { linuxSyscalls } from './peer-credentials.js';
import { PeerTracker } from './peer-tracker.js';
import { workloadServiceDefinition, workloadServiceHandlers } from './service.js';
import { WriteBudget } from './stream.js';
import { openSocketToAll, prepareSocketPath, removeSocket } from './socket-path.js';

/** Connections waiting to be accepted; a thousand workloads starting together must not be refused. */
const LISTEN_BACKLOG = 4096;
/**
 * Response bytes in flight to all callers at once (stream.ts): about 25 copies of a 1,000-SVID
 * response, far more than the sockets can take in the time a grant is held.
 */
const WRITE_BUDGET_BYTES = 32 * 1024 * 1024;
const WRITE_HOLD_MS = 2000;

interface Running {
  socketPath: string;
  identity: { dev: number; ino: number };
  net: NetServer;
  grpc: Server;
  injector: ConnectionInjector;
  sockets: Set<Socket>;
}

export class WorkloadApiServer {
  readonly #deps: WorkloadApiDeps;
  readonly #peers: PeerTracker;
  readonly #ctx: HandlerContext;
  #running: Running | undefined;
  #starting = false;

  constructor(deps: WorkloadApiDeps) {
    this.#deps = deps;
    const t = deps.peerTracking ?? {};
    this.#peers = new PeerTracker({
      syscalls: t.syscalls ?? linuxSyscalls,
      ...(t.readStartTime !== undefined ? { readStartTime: t.readStartTime } : {}),
      ...(t.usePidfd !== undefined ? { usePidfd: t.usePidfd } : {}),
    });
    this.#ctx = {
      view: deps.view,
      attestors: deps.attestors,
      logger: deps.logger,
      peers: this.#peers,
      responses: new SharedResponses(),
      writeBudget: new WriteBudget(WRITE_BUDGET_BYTES, WRITE_HOLD_MS),
      trustDomain: deps.trustDomain,
    };
  }

  /** The encoder shared by every stream (tests and the benchmark read its count). */
  get responses(): SharedResponses {
    return this.#ctx.responses;
  }

  /** Open connections. */
  get connections(): number {
    return this.#peers.size;
  }

  async start(socketPath: string): Promise<void> {
    if (this.#running !== undefined || this.#starting) throw new Error('workload api: already started');
    this.#starting = true;
    try {
      await prepareSocketPath(socketPath, this.#deps.logger);
      const grpc = new Server();
      grpc.addService(workloadServiceDefinition(), workloadServiceHandlers(this.#ctx));
      grpc.addService(healthServiceDefinition(), { Check: healthCheck(this.#deps.view, this.#deps.logger) });
      for (const s of this.#deps.services ?? []) grpc.addService(s.definition, s.handlers(this.#ctx));
      const injector = grpc.createConnectionInjector(ServerCredentials.createInsecure());
      const sockets = new Set<Socket>();
      const net = createServer((sock) => this.#accept(sock, injector, sockets));
      let identity;
      try {
        await new Promise<void>((resolve, reject) => {
          net.once('error', reject);
          net.listen({ path: socketPath, backlog: LISTEN_BACKLOG }, () => {
            net.off('error', reject);
            resolve();
          });
        });
        identity = openSocketToAll(socketPath);
      } catch (err) {
        net.close();
        grpc.forceShutdown();
        throw err;
      }
      net.on('error', (err) => this.#deps.logger.error({ err: messageOf(err) }, 'workload api: the socket listener failed'));
      this.#running = { socketPath, identity, net, grpc, injector, sockets };
      this.#deps.logger.info({ socketPath, attestors: this.#deps.attestors.map((a) => a.type) }, 'workload api: listening');
    } finally {
      this.#starting = false;
    }
  }

  /** Stops accepting, ends every call (clients reconnect to the next agent), removes the socket. */
  async stop(): Promise<void> {
    const r = this.#running;
    if (r === undefined) return;
    this.#running = undefined;
    const closed = new Promise<void>((resolve) => r.net.close(() => resolve()));
    r.injector.destroy();
    r.grpc.forceShutdown();
    for (const sock of r.sockets) sock.destroy();
    await closed;
    this.#peers.releaseAll();
    removeSocket(r.socketPath, r.identity, this.#deps.logger);
    this.#deps.logger.info({ socketPath: r.socketPath }, 'workload api: stopped');
  }

  #accept(sock: Socket, injector: ConnectionInjector, sockets: Set<Socket>): void {
    // A caller that resets its connection must cost a log line, not the agent.
    sock.on('error', (err) => this.#deps.logger.debug({ err: messageOf(err) }, 'workload api: connection error'));
    const fd = (sock as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let peer;
    try {
      if (fd === undefined || fd < 0) throw new Error('the accepted socket has no file descriptor');
      peer = this.#peers.track(fd);
    } catch (err) {
      this.#deps.logger.warn({ err: messageOf(err) }, 'workload api: cannot identify the peer of a connection; closing it');
      sock.destroy();
      return;
    }
    const id = peer.id;
    // grpc-js reports a call's peer as its socket's remoteAddress (empty on a Unix socket): make it
    // the key of this connection's record.
    Object.defineProperty(sock, 'remoteAddress', { value: id, configurable: true });
    sockets.add(sock);
    sock.once('close', () => {
      sockets.delete(sock);
      this.#peers.release(id);
    });
    this.#deps.logger.debug({ conn: id, pid: peer.pid, uid: peer.uid, gid: peer.gid, pin: peer.pin }, 'workload api: connection accepted');
    injector.injectConnection(sock);
  }
}
