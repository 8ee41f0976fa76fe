/**
 * The agent process: identity (attest or reuse the stored SVID, renew) → entry sync and bundle
 * watch (pushed streams) → minter (workload keys, batched CSRs, rotation) → identity cache → the
 * Workload API and Envoy SDS on the Unix socket. Started in that order, stopped in the reverse one.
 *
 * Everything the server sends flows one way: sync → cache (entries) → minter → cache (SVIDs) →
 * snapshots to open streams. Refusals from any call go to the identity, which attests again or
 * stops the agent; failures to reach the server go to health, which reports "degraded" while the
 * cache keeps serving what it holds until it expires.
 */
import { messageOf } from '../spiffe/errors.js';
import { configuredNodeAttestor } from './attestation/node-attestors.js';
import { AgentIdentity } from './attestation/manager.js';
import type { AttestationError } from './attestation/errors.js';
import { AgentStateStore } from './attestation/store.js';
import { IdentityCache } from './cache/identity-cache.js';
import { JwtSvidCache } from './cache/jwt-cache.js';
import type { WorkloadView } from './cache/workload-view.js';
import { ServerConnection } from './client/connection.js';
import { formatHostPort, type AgentConfig } from './config/index.js';
import { AgentHealth, type HealthReport } from './health.js';
import { silentLogger, type Logger } from './logger.js';
import { SvidMinter } from './svid/minter.js';
import { BundleWatch } from './sync/bundle-watch.js';
import { EntrySync } from './sync/entry-sync.js';
import { sdsService } from './sds/index.js';
import { createBuiltinWorkloadAttestors, createWorkloadApi, type WorkloadApi } from './workloadapi/index.js';

/** Knobs the process need not set; tests shorten or measure with them. */
export interface AgentTuning {
  /** How long a minting burst may hold back snapshot updates (default 500 ms). */
  maxHoldMs?: number;
  mintBatchSize?: number;
  mintInFlight?: number;
  /** Reconnect backoff of the entry and bundle streams (default 250 ms doubling to 10 s). */
  reconnect?: { baseMs: number; maxMs: number };
  /** How long attestation retries an unreachable server at start (default 2 min). */
  startupRetryMs?: number;
}

export interface SigilAgentOptions {
  config: AgentConfig;
  logger?: Logger;
  /** Serve the Workload API on config.socketPath (default true; tests of the core alone turn it off). */
  serveWorkloadApi?: boolean;
  tuning?: AgentTuning;
}

export interface AgentStarted {
  agentId: string;
  /** Undefined when the Workload API is not served. */
  socketPath: string | undefined;
}

export class SigilAgent {
  readonly #config: AgentConfig;
  readonly #logger: Logger;
  readonly #serveApi: boolean;
  readonly #connection: ServerConnection;
  readonly #cache: IdentityCache;
  readonly #health: AgentHealth;
  readonly #identity: AgentIdentity;
  readonly #minter: SvidMinter;
  readonly #sync: EntrySync;
  readonly #bundleWatch: BundleWatch;
  readonly #fatalListeners = new Set<(err: AttestationError) => void>();
  #workloadApi: WorkloadApi | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;
  #fatal: AttestationError | undefined;

  constructor(options: SigilAgentOptions) {
    const c = (this.#config = options.config);
    const log = (this.#logger = options.logger ?? silentLogger);
    const t = options.tuning ?? {};
    this.#serveApi = options.serveWorkloadApi ?? true;
    const server = formatHostPort(c.serverAddress);
    const connection = (this.#connection = new ServerConnection(c.serverAddress, c.trustDomain));

    const jwt = new JwtSvidCache({
      logger: log.child({ component: 'jwt' }),
      mint: async (entryId, audience) => {
        const { api, generation } = connection.client();
        try {
          const r = await api.mintJwtSvid(entryId, audience);
          this.#health.reachable();
          return { token: r.token, expiresAt: Number(r.expires_at) };
        } catch (err) {
          this.#callFailed(err, generation);
          throw err;
        }
      },
    });
    const cache = (this.#cache = new IdentityCache({
      trustDomain: c.trustDomain.name,
      logger: log.child({ component: 'cache' }),
      jwt,
      health: () => this.#health.report(),
      maxHoldMs: t.maxHoldMs,
    }));
    this.#health = new AgentHealth({
      serverAddress: server,
      logger: log,
      stats: () => {
        let earliestExpiry: number | undefined;
        for (const s of cache.svids()) if (earliestExpiry === undefined || s.expiresAt < earliestExpiry) earliestExpiry = s.expiresAt;
        return { identities: cache.identityCount, earliestExpiry };
      },
    });
    this.#minter = new SvidMinter({
      cache,
      keyType: c.workloadKeyType,
      logger: log.child({ component: 'svid' }),
      batchSize: t.mintBatchSize,
      maxInFlight: t.mintInFlight,
      mint: async (requests) => {
        const { api, generation } = connection.client();
        try {
          return await api.mintX509Svids(requests);
        } catch (err) {
          this.#callFailed(err, generation);
          throw err;
        }
      },
      onCallResult: (err) => {
        if (err === undefined) this.#health.reachable();
      },
    });
    let syncGeneration = 0;
    this.#sync = new EntrySync({
      logger: log.child({ component: 'sync' }),
      backoff: t.reconnect,
      open: (resumeAfter) => {
        const { api, generation } = connection.client();
        syncGeneration = generation;
        return api.syncEntries(resumeAfter);
      },
      onConnected: () => {
        this.#health.reachable();
        this.#minter.retryNow();
      },
      onError: (err) => this.#callFailed(err, syncGeneration),
      sink: {
        full: (entries) => {
          const keep = new Set(entries.map((e) => e.id));
          const removed = [...cache.entries()].map((e) => e.id).filter((id) => !keep.has(id));
          cache.replaceEntries(entries);
          this.#minter.forget(removed);
          this.#minter.forgetRefusals();
          this.#minter.consider(keep);
          this.#health.synced();
        },
        update: (upserted, removedIds) => {
          cache.applyEntries(upserted, removedIds);
          this.#minter.forget(removedIds);
          this.#minter.consider(upserted.map((e) => e.id));
        },
      },
    });
    let bundleGeneration = 0;
    this.#bundleWatch = new BundleWatch({
      logger: log.child({ component: 'bundle' }),
      backoff: t.reconnect,
      open: () => {
        const { api, generation } = connection.client();
        bundleGeneration = generation;
        return api.watchBundle();
      },
      onBundle: (json) => this.#identity.bundleReceived(json),
      onConnected: () => this.#health.reachable(),
      onError: (err) => this.#callFailed(err, bundleGeneration),
    });
    this.#identity = new AgentIdentity({
      trustDomain: c.trustDomain,
      connection,
      bootstrap: c.bootstrap,
      attestor: configuredNodeAttestor(c, log.child({ component: 'attestor' })),
      store: new AgentStateStore(c.dataDir, log),
      logger: log,
      startupRetryMs: t.startupRetryMs,
      onBundle: (bundle) => cache.setBundle(bundle),
      onSvid: (svid) => {
        this.#health.attested(svid.id);
        // Streams opened with the previous SVID reopen with the new one, resuming where they were.
        if (this.#state === 'running') {
          this.#sync.restart();
          this.#bundleWatch.restart();
        }
      },
      onFatal: (err) => this.#onFatal(err),
    });
  }

  /** What the Workload API and SDS serve from. */
  get view(): WorkloadView {
    return this.#cache;
  }

  /** The cache itself, for tests and benchmarks that look inside. */
  get cache(): IdentityCache {
    return this.#cache;
  }

  get agentId(): string | undefined {
    return this.#identity.svid?.id;
  }

  health(): HealthReport {
    return this.#health.report();
  }

  /** Why the agent stopped by itself, if it did. */
  get fatalError(): AttestationError | undefined {
    return this.#fatal;
  }

  /** Called once if the agent has to stop on its own (banned, identity lost); it is then stopping. */
  onFatal(listener: (err: AttestationError) => void): () => void {
    this.#fatalListeners.add(listener);
    return () => this.#fatalListeners.delete(listener);
  }

  /** Attests (or reuses the stored SVID), starts syncing and serving. On failure, stops what started and rethrows. */
  async start(): Promise<AgentStarted> {
    if (this.#state !== 'new') throw new Error(`agent: start() called when ${this.#state}`);
    this.#state = 'starting';
    try {
      const svid = await this.#identity.start();
      this.#sync.start();
      this.#bundleWatch.start();
      let socketPath: string | undefined;
      if (this.#serveApi) {
        const apiLogger = this.#logger.child({ component: 'workloadapi' });
        const api = createWorkloadApi({
          view: this.#cache,
          attestors: createBuiltinWorkloadAttestors(this.#config.workloadAttestors, { logger: apiLogger }),
          logger: apiLogger,
          trustDomain: this.#config.trustDomain.name,
          services: [sdsService({ settings: this.#config.sds })],
        });
        await api.start(this.#config.socketPath);
        this.#workloadApi = api;
        socketPath = this.#config.socketPath;
      }
      if (this.#state !== 'starting') throw this.#fatal ?? new Error('agent: stopped while starting');
      this.#state = 'running';
      this.#logger.info({ agentId: svid.id, server: formatHostPort(this.#config.serverAddress), socketPath }, 'agent: started');
      return { agentId: svid.id, socketPath };
    } catch (err) {
      this.#logger.error({ err: messageOf(err) }, `agent: failed to start: ${messageOf(err)}`);
      await this.stop();
      throw err;
    }
  }

  /** Stops everything in reverse order. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = 'stopping';
      this.#health.stopped();
      const api = this.#workloadApi;
      this.#workloadApi = undefined;
      try {
        if (api !== undefined) await api.stop();
      } finally {
        this.#bundleWatch.stop();
        this.#sync.stop();
        this.#minter.stop();
        this.#identity.stop();
        this.#cache.close();
        this.#connection.close();
        this.#state = 'stopped';
        this.#logger.info({}, 'agent: stopped');
      }
    })();
    return this.#stopped;
  }

  #callFailed(err: unknown, generation: number): void {
    this.#health.failed(err);
    this.#identity.refused(err, generation);
  }

  #onFatal(err: AttestationError): void {
    if (this.#fatal !== undefined) return;
    this.#fatal = err;
    this.#health.fatal(err.message);
    this.stop().catch((e: unknown) => this.#logger.error({ err: messageOf(e) }, 'agent: stopping after a fatal error failed'));
    for (const listener of [...this.#fatalListeners]) listener(err);
  }
}
