/**
 * The server process: datastore → key manager → CA → agent API → admin API → pruner, started in
 * that order and stopped in the reverse one. Everything that holds state lives in the datastore
 * and the key manager, so a restart with the same data directory (and database) finds the same CA
 * and the same entries; several servers may share one PostgreSQL database, each with its own CA
 * journal, keyed by the instance id kept in its data directory.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageOf } from '../spiffe/errors.js';
import { createAdminApi } from './api/admin/index.js';
import { builtinServerNodeAttestors, createAgentApi } from './api/agent/index.js';
import { ServerCa } from './ca/index.js';
import { maxSvidTtlSeconds } from './ca/requests.js';
import type { HostPort, ServerConfig } from './config/index.js';
import type { Datastore } from './datastore/datastore.js';
import { openDatastore } from './datastore/open.js';
import { createKeyManager } from './keymanager/builtins.js';
import type { KeyManager } from './keymanager/key-manager.js';
import { silentLogger, type Logger } from './logger.js';

/** Inside dataDir: which CA journal in a shared database is this server's. */
export const INSTANCE_ID_FILE = 'server-id';

const PRUNE_INTERVAL_MS = 60_000;
const HEALTH_TIMEOUT_MS = 5_000;

export interface SigilServerOptions {
  config: ServerConfig;
  logger?: Logger;
  /** How often expired entries and join tokens are deleted; default one minute. */
  pruneIntervalMs?: number;
}

export interface ServerEndpoints {
  /** The agent API's address, with the port the OS chose when the config said 0. */
  agentApi: HostPort;
  adminSocket: string;
}

export interface HealthCheck {
  ok: boolean;
  detail?: string;
}

export interface HealthReport {
  ready: boolean;
  checks: Record<string, HealthCheck>;
}

interface Running {
  name: string;
  stop: () => Promise<void>;
}

export class SigilServer {
  readonly #config: ServerConfig;
  readonly #logger: Logger;
  readonly #pruneIntervalMs: number;
  /** What has started, in order; stopped from the end. */
  #running: Running[] = [];
  #datastore: Datastore | undefined;
  #ca: ServerCa | undefined;
  #keyManager: KeyManager | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;

  constructor(options: SigilServerOptions) {
    this.#config = options.config;
    this.#logger = options.logger ?? silentLogger;
    this.#pruneIntervalMs = options.pruneIntervalMs ?? PRUNE_INTERVAL_MS;
  }

  /** Starts everything; on failure, stops what had started and rethrows. Call once. */
  async start(): Promise<ServerEndpoints> {
    if (this.#state !== 'new') throw new Error(`server: start() called when ${this.#state}`);
    this.#state = 'starting';
    try {
      const endpoints = await this.#start();
      this.#state = 'running';
      return endpoints;
    } catch (err) {
      this.#logger.error(`server: failed to start: ${messageOf(err)}`, { err });
      try {
        await this.#stopAll();
      } catch {
        // #stopAll has logged each part that failed to stop; the start failure is the one to report.
      }
      this.#state = 'stopped';
      throw err;
    }
  }

  async #start(): Promise<ServerEndpoints> {
    const c = this.#config;
    const log = this.#logger;
    await prepareDataDir(c.dataDir, log);
    const instanceId = await serverInstanceId(c.dataDir);

    const datastore = await openDatastore(c.datastore, { logger: log.child({ component: 'datastore' }) });
    this.#datastore = datastore;
    this.#running.push({ name: 'datastore', stop: () => datastore.close() });

    const keyManager = await createKeyManager(c.ca.keyManager, { logger: log.child({ component: 'keymanager' }) });
    this.#keyManager = keyManager;
    this.#running.push({ name: 'key manager', stop: () => keyManager.close() });

    const ca = await ServerCa.start({
      trustDomain: c.trustDomain,
      keyManager,
      keyType: c.ca.keyType,
      jwtKeyType: c.jwt.keyType,
      caTtlSeconds: c.ca.ttlSeconds,
      x509SvidTtlSeconds: c.svid.x509TtlSeconds,
      agentSvidTtlSeconds: c.svid.agentTtlSeconds,
      jwtSvidTtlSeconds: c.svid.jwtTtlSeconds,
      upstream: c.ca.upstream,
      caSubject: c.ca.subject,
      bundles: datastore.bundles,
      journals: datastore.caJournals,
      serverInstanceId: instanceId,
      logger: log.child({ component: 'ca' }),
    });
    this.#ca = ca;
    const rotation = ca.startRotation();
    this.#running.push({ name: 'CA rotation', stop: () => rotation.stop() });

    const agentApi = createAgentApi({
      trustDomain: c.trustDomain,
      datastore,
      ca,
      attestors: builtinServerNodeAttestors(c.nodeAttestors),
      logger: log,
      serverDnsNames: c.serverDnsNames,
    });
    const { port } = await agentApi.start(c.bind);
    this.#running.push({ name: 'agent API', stop: () => agentApi.stop() });

    const maxSvidTtl = maxSvidTtlSeconds(c.ca.ttlSeconds);
    const adminApi = createAdminApi({
      trustDomain: c.trustDomain,
      datastore,
      ca,
      logger: log.child({ component: 'admin' }),
      health: () => this.health(),
      maxX509SvidTtlSeconds: maxSvidTtl,
      maxJwtSvidTtlSeconds: maxSvidTtl,
    });
    await adminApi.start(c.adminSocket);
    this.#running.push({ name: 'admin API', stop: () => adminApi.stop() });

    const pruner = startPruner(datastore, log.child({ component: 'pruner' }), this.#pruneIntervalMs);
    this.#running.push({ name: 'pruner', stop: () => pruner.stop() });

    log.info('server: started', {
      trustDomain: c.trustDomain.name, instanceId, datastore: datastore.kind, keyManager: keyManager.type,
    });
    return { agentApi: { host: c.bind.host, port }, adminSocket: c.adminSocket };
  }

  /** Stops everything in reverse order; every part is stopped even if another fails. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = 'stopping';
      try {
        await this.#stopAll();
      } finally {
        this.#state = 'stopped';
      }
    })();
    return this.#stopped;
  }

  async #stopAll(): Promise<void> {
    const failures: unknown[] = [];
    for (const part of this.#running.splice(0).reverse()) {
      try {
        await part.stop();
        this.#logger.debug(`server: stopped the ${part.name}`);
      } catch (err) {
        this.#logger.error(`server: stopping the ${part.name} failed: ${messageOf(err)}`, { err });
        failures.push(err);
      }
    }
    if (failures.length === 1) throw failures[0];
    if (failures.length > 1) throw new AggregateError(failures, `server: ${failures.length} parts failed to stop`);
  }

  /** Ready when the datastore answers and the CA can sign; what the admin API's healthcheck reports. */
  async health(): Promise<HealthReport> {
    const checks: Record<string, HealthCheck> = {};
    const ds = this.#datastore;
    if (ds === undefined || this.#state !== 'running') {
      checks['datastore'] = { ok: false, detail: `server is ${this.#state}` };
    } else {
      try {
        await withTimeout(ds.events.latestId(), HEALTH_TIMEOUT_MS, 'the datastore did not answer');
        checks['datastore'] = { ok: true, detail: ds.kind };
      } catch (err) {
        checks['datastore'] = { ok: false, detail: messageOf(err) };
      }
    }
    const status = this.#ca?.status();
    if (status === undefined) checks['ca'] = { ok: false, detail: 'the CA has not started' };
    else if (status.ready) checks['ca'] = { ok: true, detail: `X.509 CA ${status.x509.id} until ${status.x509.notAfter.toISOString()}` };
    else checks['ca'] = { ok: false, detail: status.reason };
    // A key store that can go away while the server runs (an HSM) says here whether it can sign now.
    const km = this.#keyManager;
    if (km?.health !== undefined && this.#state === 'running') {
      try {
        checks['keyManager'] = await withTimeout(km.health(), HEALTH_TIMEOUT_MS, `the ${km.type} key manager did not answer`);
      } catch (err) {
        checks['keyManager'] = { ok: false, detail: `cannot sign: ${messageOf(err)}` };
      }
    }
    return { ready: Object.values(checks).every((check) => check.ok), checks };
  }
}

/** Creates the data directory private (0700); one that exists already is kept as it is, with a warning if others can enter it. */
async function prepareDataDir(dataDir: string, log: Logger): Promise<void> {
  const created = await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const mode = (await stat(dataDir)).mode & 0o777;
  if (created === undefined && (mode & 0o077) !== 0) {
    log.warn(`server: the data directory ${dataDir} has mode ${mode.toString(8)}; 0700 keeps other users from its keys and database`, {
      dataDir, mode: mode.toString(8),
    });
  }
}

/**
 * This server's id, made on first start and kept in the data directory: it keys the CA journal,
 * so it must survive restarts and differ between servers sharing a database.
 */
export async function serverInstanceId(dataDir: string): Promise<string> {
  const path = join(dataDir, INSTANCE_ID_FILE);
  try {
    await writeFile(path, `${randomUUID()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const id = (await readFile(path, 'utf8')).trim();
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(id)) {
    throw new Error(`server: ${path} holds no usable server id (1 to 128 of [A-Za-z0-9._-]); delete it to make a new one`);
  }
  return id;
}

/**
 * Change events older than this are deleted. An agent that reconnects after a longer absence gets a
 * full entry set instead of a diff, so this bounds the table without losing anything.
 */
const EVENT_RETENTION_SECONDS = 24 * 3600;

/**
 * Deletes expired entries and join tokens, and old change events, every interval. Nothing waits for
 * it: entries reach agents through change events, and a join token is checked for expiry when used.
 */
function startPruner(ds: Datastore, log: Logger, intervalMs: number): { stop(): Promise<void> } {
  let pass: Promise<void> = Promise.resolve();
  const prune = async (): Promise<void> => {
    const now = Math.floor(Date.now() / 1000);
    try {
      const entries = await ds.entries.pruneExpired(now);
      const tokens = await ds.joinTokens.pruneExpired(now);
      const events = await ds.events.pruneOlderThan(now - EVENT_RETENTION_SECONDS);
      if (entries + tokens + events > 0) {
        log.info('pruner: deleted expired records', { entries, joinTokens: tokens, changeEvents: events });
      }
    } catch (err) {
      // The next pass retries; the datastore's health check reports an outage.
      log.warn(`pruner: pruning failed: ${messageOf(err)}`, { err });
    }
  };
  const timer = setInterval(() => {
    pass = pass.then(prune);
  }, intervalMs);
  pass = prune();
  return {
    async stop() {
      clearInterval(timer);
      await pass;
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
