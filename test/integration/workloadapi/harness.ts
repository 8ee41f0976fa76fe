/**
 * A Workload API on a real Unix socket in a temporary directory, over a FakeWorkloadView, with the
 * real unix attestor unless a test passes others. The directory is 0755 so that child processes
 * running as other users can reach the socket.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkloadAttestor } from '../../../attestors/workload/workload-attestor.js';
import { UnixWorkloadAttestor } from '../../../attestors/workload/unix/unix.js';
import type { LogFields, WorkloadApiDeps, WorkloadApiLogger } from '../../../agent/workloadapi/deps.js';
import { WorkloadApiServer } from '../../../agent/workloadapi/index.js';
import { FakeWorkloadView, TestAuthority } from '../../fakes/workload-view.js';

export class RecordingLogger implements WorkloadApiLogger {
  readonly lines: { level: string; message: string; fields: LogFields }[] = [];
  debug(fields: LogFields, message: string): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(fields: LogFields, message: string): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(fields: LogFields, message: string): void {
    this.lines.push({ level: 'warn', message, fields });
  }
  error(fields: LogFields, message: string): void {
    this.lines.push({ level: 'error', message, fields });
  }
  find(level: string, text: string | RegExp): { level: string; message: string; fields: LogFields } | undefined {
    return this.lines.find((l) => l.level === level && (typeof text === 'string' ? l.message.includes(text) : text.test(l.message)));
  }
}

export interface Harness {
  dir: string;
  socketPath: string;
  server: WorkloadApiServer;
  view: FakeWorkloadView;
  authority: TestAuthority;
  logger: RecordingLogger;
  close(): Promise<void>;
}

let sharedAuthority: Promise<TestAuthority> | undefined;

/** One CA for the whole run: generating keys is what costs. */
export function testAuthority(): Promise<TestAuthority> {
  sharedAuthority ??= TestAuthority.create('example.org');
  return sharedAuthority;
}

export async function startHarness(
  opts: {
    attestors?: WorkloadAttestor[];
    peerTracking?: WorkloadApiDeps['peerTracking'];
    view?: FakeWorkloadView;
    /** Further services on the socket (Envoy SDS). */
    services?: WorkloadApiDeps['services'];
  } = {},
): Promise<Harness> {
  const dir = mkdtempSync('/tmp/sigil-wl-');
  chmodSync(dir, 0o755);
  const socketPath = join(dir, 'public', 'api.sock');
  const authority = await testAuthority();
  const view = opts.view ?? new FakeWorkloadView(authority);
  const logger = new RecordingLogger();
  const server = new WorkloadApiServer({
    view,
    attestors: opts.attestors ?? [new UnixWorkloadAttestor()],
    logger,
    trustDomain: 'example.org',
    ...(opts.peerTracking !== undefined ? { peerTracking: opts.peerTracking } : {}),
    ...(opts.services !== undefined ? { services: opts.services } : {}),
  });
  await server.start(socketPath);
  return {
    dir,
    socketPath,
    server,
    view,
    authority,
    logger,
    close: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
