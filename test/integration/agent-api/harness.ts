/**
 * A real agent API for tests: a datastore (SQLite in a temporary directory, or a schema of its own
 * on PostgreSQL), a ServerCa on the memory key manager publishing into that datastore, the API on
 * 127.0.0.1 with port 0, and test agents that attest with join tokens.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ServerCa, type ServerCaOptions } from '../../../server/ca/index.js';
import { createAgentApi, builtinServerNodeAttestors, type AgentApi, type AgentApiOptions, type Logger } from '../../../server/api/agent/index.js';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { openDatastore } from '../../../server/datastore/open.js';
import type { NewEntry, RegistrationEntry } from '../../../server/datastore/types.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { newKeyAndCsr, TestAgentClient, type ClientSvid } from '../../support/agent-client.js';

export const TD = TrustDomain.fromString('example.org');
export const SERVER_ID = 'spiffe://example.org/sigil/server';
export const POSTGRES_URL = process.env['SIGIL_TEST_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/test';

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: Readonly<Record<string, unknown>>;
}

export class RecordingLogger implements Logger {
  constructor(readonly lines: LogLine[] = [], private readonly bindings: Record<string, unknown> = {}) {}
  debug(fields: Readonly<Record<string, unknown>>, message: string): void {
    this.lines.push({ level: 'debug', message, fields: { ...this.bindings, ...fields } });
  }
  info(fields: Readonly<Record<string, unknown>>, message: string): void {
    this.lines.push({ level: 'info', message, fields: { ...this.bindings, ...fields } });
  }
  warn(fields: Readonly<Record<string, unknown>>, message: string): void {
    this.lines.push({ level: 'warn', message, fields: { ...this.bindings, ...fields } });
  }
  error(fields: Readonly<Record<string, unknown>>, message: string): void {
    this.lines.push({ level: 'error', message, fields: { ...this.bindings, ...fields } });
  }
  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }
  at(level: LogLine['level']): LogLine[] {
    return this.lines.filter((l) => l.level === level);
  }
}

export interface TestServer {
  ds: Datastore;
  ca: ServerCa;
  api: AgentApi;
  port: number;
  logger: RecordingLogger;
  roots(): Promise<X509Certificate[]>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** The CA's journal key; servers sharing a database need different ones (default server-1). */
  instanceId?: string;
  api?: AgentApiOptions;
  ca?: Partial<ServerCaOptions>;
}

/**
 * A server on `url`'s datastore with its own CA instance. Event polling is off: every push a
 * test sees was woken by a commit notification, not by a timer.
 */
export async function startServer(url: string, o: StartOptions = {}): Promise<TestServer> {
  const ds = await openDatastore(url, { events: { pollIntervalMs: 0 } });
  const logger = new RecordingLogger();
  const ca = await ServerCa.start({
    trustDomain: TD, keyManager: new MemoryKeyManager(), serverInstanceId: o.instanceId ?? 'server-1', ...o.ca,
    bundles: ds.bundles, journals: ds.caJournals,
  });
  const api = createAgentApi({ trustDomain: TD, datastore: ds, ca, attestors: builtinServerNodeAttestors(), logger }, o.api);
  const { port } = await api.start({ host: '127.0.0.1', port: 0 });
  return {
    ds, ca, api, port, logger,
    roots: async () => [...(await ca.x509Authorities())],
    stop: async () => {
      await api.stop();
      await ds.close();
    },
  };
}

/** A fresh SQLite file per call; the directory is removed by `cleanup`. */
export function sqliteUrls(): { next(): string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-agentapi-'));
  let n = 0;
  return { next: () => `sqlite:${join(dir, `db-${++n}`, 'sigil.db')}`, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A PostgreSQL schema of its own (created by the datastore), dropped by `drop`. */
export function postgresSchema(): { url: string; drop(): Promise<void> } {
  const schema = `sigil_agentapi_${process.pid}_${Date.now().toString(36)}`;
  const u = new URL(POSTGRES_URL);
  u.searchParams.set('schema', schema);
  return {
    url: u.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await c.end();
      }
    },
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function createToken(ds: Datastore, ttlSeconds = 600, aliasSpiffeId: string | null = null): Promise<string> {
  const token = randomUUID();
  await ds.joinTokens.create({ token, expiresAt: nowSeconds() + ttlSeconds, aliasSpiffeId });
  return token;
}

export interface TestAgent {
  agentId: string;
  svid: ClientSvid;
  client: TestAgentClient;
  bundleJson: string;
  close(): void;
}

/** Attests a new agent with a fresh join token; its client calls with the agent SVID. */
export async function attestAgent(server: TestServer, aliasSpiffeId: string | null = null): Promise<TestAgent> {
  const roots = await server.roots();
  const token = await createToken(server.ds, 600, aliasSpiffeId);
  const { privateKey, csr } = await newKeyAndCsr();
  const bootstrap = new TestAgentClient(server.port, { roots, serverId: SERVER_ID });
  try {
    const result = await bootstrap.attest({ type: 'join_token', payload: Buffer.from(token), csr });
    const svid = { privateKey, chain: result.svid_chain };
    const client = new TestAgentClient(server.port, { roots, serverId: SERVER_ID, svid });
    return { agentId: result.agent_id, svid, client, bundleJson: result.bundle.toString(), close: () => client.close() };
  } finally {
    bootstrap.close();
  }
}

/** A client for `server` presenting `svid` (another server of the same trust domain, another CA…). */
export async function clientFor(server: TestServer, svid?: ClientSvid): Promise<TestAgentClient> {
  return new TestAgentClient(server.port, { roots: await server.roots(), serverId: SERVER_ID, svid });
}

export function entry(spiffePath: string, parentId: string, overrides: Partial<NewEntry> = {}): NewEntry {
  return {
    spiffeId: `spiffe://example.org${spiffePath}`,
    parentId,
    selectors: [{ type: 'unix', value: 'uid:1000' }],
    x509SvidTtl: 0,
    jwtSvidTtl: 0,
    dnsNames: [],
    federatesWith: [],
    admin: false,
    downstream: false,
    expiresAt: null,
    hint: '',
    ...overrides,
  };
}

export async function createEntries(ds: Datastore, entries: NewEntry[]): Promise<RegistrationEntry[]> {
  return ds.entries.create(entries);
}

export const certOf = (der: Buffer): X509Certificate => new X509Certificate(der);
