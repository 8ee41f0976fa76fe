/**
 * An admin API as `sigil server run` would wire it (real SQLite datastore in a temp dir, real
 * ServerCa on the memory key manager, real Unix socket), and the built `sigil` CLI run against it
 * as a child process. The CLI must be spawned asynchronously: the server answers it from this
 * same event loop.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdminApi, type AdminApi, type HealthReport } from '../../../server/api/admin/index.js';
import { ServerCa } from '../../../server/ca/ca.js';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { REPO_ROOT } from '../../support/shared.js';
import { RecordingLogger } from '../../support/recording-logger.js';

export const TD = TrustDomain.fromString('example.org');
export const SERVER_ID = 'spiffe://example.org/sigil/server';
export const SIGIL = join(REPO_ROOT, 'bin', 'sigil');

export { RecordingLogger, type LogLine } from '../../support/recording-logger.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `bin/sigil args…`; `input` is written to its standard input. */
export function runSigil(args: readonly string[], options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(SIGIL, args, { env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export interface AdminFixture {
  dir: string;
  socket: string;
  dbUrl: string;
  ds: Datastore;
  ca: ServerCa;
  api: AdminApi;
  logger: RecordingLogger;
  /** What the health dependency reports; tests change it. */
  health: { report: HealthReport | Error };
  /** `sigil server <args…> --admin-socket <socket>`. */
  sigil(...args: string[]): Promise<CliResult>;
  /** As sigil(), with standard input. */
  sigilWithInput(input: string, ...args: string[]): Promise<CliResult>;
  close(): Promise<void>;
}

export async function startAdmin(): Promise<AdminFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-admin-'));
  const socket = join(dir, 'private', 'admin.sock');
  const dbUrl = `sqlite:${join(dir, 'datastore.db')}`;
  const ds = await openDatastore(dbUrl);
  const ca = await ServerCa.start({ trustDomain: TD, keyManager: new MemoryKeyManager(), bundles: ds.bundles, journals: ds.caJournals, serverInstanceId: 'server-1' });
  const logger = new RecordingLogger();
  const health: AdminFixture['health'] = { report: { ready: true, checks: { datastore: { ok: true }, ca: { ok: true } } } };
  const api = createAdminApi({
    trustDomain: TD,
    datastore: ds,
    ca,
    logger,
    health: async () => {
      if (health.report instanceof Error) throw health.report;
      return health.report;
    },
  });
  await api.start(socket);
  const sigil = (input: string | undefined, args: string[]): Promise<CliResult> =>
    runSigil(['server', ...args, '--admin-socket', socket], input === undefined ? {} : { input });
  return {
    dir,
    socket,
    dbUrl,
    ds,
    ca,
    api,
    logger,
    health,
    sigil: (...args) => sigil(undefined, args),
    sigilWithInput: (input, ...args) => sigil(input, args),
    async close() {
      await api.stop();
      await ds.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One fixture per `describe`, shared by its tests (a fresh one costs a CA start). */
export function useAdmin(): () => AdminFixture {
  let fixture: AdminFixture | undefined;
  before(async () => {
    fixture = await startAdmin();
  });
  after(async () => {
    await fixture?.close();
  });
  return () => {
    if (!fixture) throw new Error('the admin fixture is not started');
    return fixture;
  };
}

/** Parses a CLI's JSON output, failing with the output when it is not JSON. */
export function json<T>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}

export function ok(r: CliResult): CliResult {
  if (r.status !== 0) throw new Error(`sigil exited ${r.status}:\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** An entry in SPIRE's -data JSON form. */
export function dataEntry(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    spiffe_id: `spiffe://example.org/workload/${i}`,
    parent_id: 'spiffe://example.org/sigil/agent/join_token/abc',
    selectors: [{ type: 'unix', value: `uid:${i}` }],
    ...extra,
  };
}
