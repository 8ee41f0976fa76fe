/**
 * A real sigil server in this process (SigilServer: SQLite and disk keys in a temp dir, agent API
 * on 127.0.0.1, admin API on a Unix socket) driven through its admin API as an operator would,
 * and agents against it: in-process (SigilAgent) or as `bin/sigil agent run` child processes for
 * the cases that restart or kill things. Everything is stopped and removed after each test.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SigilAgent, type AgentTuning } from '../../../agent/agent.js';
import type { IdentitySnapshot, Selector } from '../../../agent/cache/workload-view.js';
import { resolveConfig as resolveAgentConfig, type ConfigFlags as AgentFlags } from '../../../agent/config/index.js';
import type { LogFields, Logger } from '../../../agent/logger.js';
import { AdminClient } from '../../../server/cli/admin-client.js';
import { resolveConfig as resolveServerConfig } from '../../../server/config/index.js';
import { SigilServer } from '../../../server/server.js';
import { REPO_ROOT } from '../../support/shared.js';

export const TD = 'example.org';
export const SIGIL = join(REPO_ROOT, 'bin', 'sigil');
export const UID_SELECTOR: Selector = { type: 'unix', value: `uid:${process.getuid?.() ?? 0}` };

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  fields: LogFields;
}

/** Both call shapes of agent/logger.ts, recorded. */
export class RecordingLogger implements Logger {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly bindings: LogFields = {},
  ) {}
  #push(level: LogLine['level'], a: string | LogFields, b?: string | LogFields): void {
    const [message, fields] = typeof a === 'string' ? [a, (b as LogFields | undefined) ?? {}] : [b as string, a];
    this.lines.push({ level, message, fields: { ...this.bindings, ...fields } });
  }
  debug(a: string | LogFields, b?: string | LogFields): void {
    this.#push('debug', a, b);
  }
  info(a: string | LogFields, b?: string | LogFields): void {
    this.#push('info', a, b);
  }
  warn(a: string | LogFields, b?: string | LogFields): void {
    this.#push('warn', a, b);
  }
  error(a: string | LogFields, b?: string | LogFields): void {
    this.#push('error', a, b);
  }
  child(bindings: LogFields): Logger {
    return new RecordingLogger(this.lines, { ...this.bindings, ...bindings });
  }
  messages(level?: LogLine['level']): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.message);
  }
}

/** The admin API's Entry message (what CreateEntries takes and returns). */
export interface AdminEntry {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: Selector[];
  x509_svid_ttl: number;
  jwt_svid_ttl: number;
  hint: string;
  revision_number: string;
}

export interface ServerOptions {
  /** svid.agentTtl, e.g. "6s". */
  agentTtl?: string;
  x509Ttl?: string;
  /** The config file's nodeAttestors section (e.g. tpm's ekCaBundles and pcrPolicy). */
  nodeAttestors?: Record<string, unknown>;
}

export class ServerFixture {
  server: SigilServer;
  port = 0;
  readonly admin: AdminClient;
  readonly bundlePath: string;
  readonly #config: ReturnType<typeof resolveServerConfig>;

  private constructor(
    readonly dir: string,
    config: ReturnType<typeof resolveServerConfig>,
  ) {
    this.#config = config;
    this.server = new SigilServer({ config, pruneIntervalMs: 3_600_000 });
    this.admin = new AdminClient(config.adminSocket);
    this.bundlePath = join(dir, 'bundle.pem');
  }

  static async start(dir: string, o: ServerOptions = {}): Promise<ServerFixture> {
    const svid: Record<string, string> = {};
    if (o.agentTtl !== undefined) svid['agentTtl'] = o.agentTtl;
    if (o.x509Ttl !== undefined) svid['x509Ttl'] = o.x509Ttl;
    const config = resolveServerConfig({
      file: { ...(Object.keys(svid).length > 0 ? { svid } : {}), ...(o.nodeAttestors === undefined ? {} : { nodeAttestors: o.nodeAttestors }) },
      flags: { trustDomain: TD, bind: '127.0.0.1:0', adminSocket: join(dir, 'admin.sock'), dataDir: join(dir, 'server') },
    });
    const f = new ServerFixture(dir, config);
    f.port = (await f.server.start()).agentApi.port;
    // The next start (restart) must listen where agents already dial.
    f.#config.bind = { host: '127.0.0.1', port: f.port };
    const bundle = await f.admin.call<{ x509_authorities: Buffer[] }>('BundleService', 'GetBundle', {});
    writeFileSync(f.bundlePath, bundle.x509_authorities.map(pem).join(''));
    return f;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await this.server.stop();
  }

  /** Stops the server (if running) and starts a new one on the same data directory and port. */
  async restart(): Promise<void> {
    await this.server.stop();
    this.server = new SigilServer({ config: this.#config, pruneIntervalMs: 3_600_000 });
    await this.server.start();
  }

  async token(): Promise<string> {
    return (await this.admin.call<{ value: string }>('TokenService', 'CreateJoinToken', { ttl: 600 })).value;
  }

  async createEntries(entries: Partial<AdminEntry>[]): Promise<AdminEntry[]> {
    const r = await this.admin.call<{ entries: AdminEntry[] }>('EntryService', 'CreateEntries', { entries });
    return r.entries;
  }

  async deleteEntries(ids: string[]): Promise<void> {
    await this.admin.call('EntryService', 'DeleteEntries', { ids });
  }

  async updateEntry(id: string, entry: Partial<AdminEntry>, mask: Record<string, boolean>): Promise<AdminEntry> {
    return this.admin.call<AdminEntry>('EntryService', 'UpdateEntry', { id, entry, mask });
  }

  async ban(agentId: string): Promise<void> {
    await this.admin.call('AgentService', 'BanAgent', { spiffe_id: agentId });
  }

  close(): void {
    this.admin.close();
  }
}

export function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

export function agentIdFor(token: string): string {
  return `spiffe://${TD}/sigil/agent/join_token/${token}`;
}

/** `n` entries for `parentId`, all for the test process's uid. */
export function entries(parentId: string, n: number, prefix = 'w', extra: Partial<AdminEntry> = {}): Partial<AdminEntry>[] {
  return Array.from({ length: n }, (_, i) => ({
    spiffe_id: `spiffe://${TD}/${prefix}/${i}`,
    parent_id: parentId,
    selectors: [UID_SELECTOR],
    ...extra,
  }));
}

export interface InProcessAgent {
  agent: SigilAgent;
  logger: RecordingLogger;
  dataDir: string;
  /** Where the agent serves the Workload API and SDS, when started with `serve`. */
  socketPath: string | undefined;
}

/** Per test: temp dirs, servers and agents, all stopped and removed afterwards. */
export function useFixtures(): {
  tmp(): string;
  server(o?: ServerOptions): Promise<ServerFixture>;
  agent(
    server: ServerFixture,
    o?: { token?: string; dataDir?: string; tuning?: AgentTuning; flags?: AgentFlags; file?: Record<string, unknown>; serve?: boolean },
  ): Promise<InProcessAgent>;
  process(args: readonly string[]): AgentProcess;
} {
  let dirs: string[] = [];
  let servers: ServerFixture[] = [];
  let agents: SigilAgent[] = [];
  let procs: AgentProcess[] = [];
  afterEach(async function () {
    for (const p of procs) {
      if (this.currentTest?.state === 'failed') process.stderr.write(p.output());
      await p.kill();
    }
    for (const a of agents) await a.stop();
    for (const s of servers) {
      await s.stop();
      s.close();
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
    servers = [];
    agents = [];
    procs = [];
  });
  const tmp = (): string => {
    // Short: sockets live here, and a socket path has at most 107 bytes.
    const d = mkdtempSync(join(tmpdir(), 'sga-'));
    dirs.push(d);
    return d;
  };
  return {
    tmp,
    async server(o) {
      const s = await ServerFixture.start(tmp(), o);
      servers.push(s);
      return s;
    },
    async agent(server, o = {}) {
      const dir = tmp();
      const dataDir = o.dataDir ?? join(dir, 'data');
      const config = resolveAgentConfig({
        file: o.file,
        flags: {
          trustDomain: TD,
          serverAddress: server.address,
          joinToken: o.token ?? (await server.token()),
          trustBundle: server.bundlePath,
          socketPath: join(dir, 'api.sock'),
          dataDir,
          ...o.flags,
        },
      });
      const logger = new RecordingLogger();
      const agent = new SigilAgent({ config, logger, serveWorkloadApi: o.serve ?? false, tuning: { startupRetryMs: 5000, ...o.tuning } });
      agents.push(agent);
      const { socketPath } = await agent.start();
      return { agent, logger, dataDir, socketPath };
    },
    process(args) {
      const p = new AgentProcess(args);
      procs.push(p);
      return p;
    },
  };
}

/** Resolves with the first snapshot for `selectors` that satisfies `check` (checked on every update). */
export function waitForSnapshot(
  agent: SigilAgent,
  selectors: Selector[],
  check: (s: IdentitySnapshot) => boolean,
  ms = 10_000,
  what = 'snapshot',
): Promise<IdentitySnapshot> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (s: IdentitySnapshot): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sub.unsubscribe();
      resolve(s);
    };
    const timer = setTimeout(() => {
      done = true;
      sub.unsubscribe();
      const last = agent.view.snapshot(selectors);
      reject(new Error(`${what}: not within ${ms} ms (last snapshot has ${last.identities.length} identities; health: ${agent.health().detail})`));
    }, ms);
    const sub = agent.view.subscribe(selectors, (s) => {
      if (check(s)) finish(s);
    });
    if (check(sub.snapshot)) finish(sub.snapshot);
  });
}

export async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const READY_LINE = /^sigil agent ready: (\S+), serving the Workload API on (\S+)$/m;

/** `bin/sigil agent run ARGS` as a child process. */
export class AgentProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: readonly string[]) {
    this.child = spawn(process.execPath, [SIGIL, 'agent', 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.child.pid!;
  }

  async ready(ms = 30_000): Promise<{ agentId: string; socketPath: string }> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = READY_LINE.exec(this.stderr);
      if (m) return { agentId: m[1]!, socketPath: m[2]! };
      if (this.child.exitCode !== null || this.child.signalCode !== null) assert.fail(`sigil agent run exited before it was ready\n${this.output()}`);
      if (Date.now() > deadline) assert.fail(`sigil agent run was not ready within ${ms} ms\n${this.output()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  logs(): Record<string, unknown>[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  messages(): string[] {
    return this.logs().map((l) => String(l['msg']));
  }

  output(): string {
    return `--- agent stderr ---\n${this.stderr}\n--- agent stdout ---\n${this.stdout}`;
  }
}

/** Flags for a child agent of `server` in `dir`. */
export function agentArgs(server: ServerFixture, dir: string, token?: string): string[] {
  const args = [
    '--trust-domain', TD, '--server-address', server.address, '--trust-bundle', server.bundlePath,
    '--socket-path', join(dir, 'api.sock'), '--data-dir', join(dir, 'data'),
  ];
  return token === undefined ? args : [...args, '--join-token', token];
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
