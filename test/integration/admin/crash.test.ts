/**
 * A server SIGKILLed while `entry create --data` is in flight leaves all of the batch or none of
 * it, and the next server on the same socket path replaces the dead one's stale socket file.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatastore } from '../../../server/datastore/open.js';
import { REPO_ROOT } from '../../support/shared.js';
import { dataEntry, ok, runSigil, type CliResult } from './harness.js';

const FIXTURE = join(REPO_ROOT, 'dist', 'test', 'fixtures', 'admin', 'server.js');
const BATCH = 5000;

interface ServerProcess {
  child: ChildProcessWithoutNullStreams;
  /** Resolves when the server prints `line` on stdout. */
  printed(line: string): Promise<void>;
  exited: Promise<void>;
}

function startServer(dbUrl: string, socket: string, mode: 'hang' | 'plain'): ServerProcess {
  const child = spawn(process.execPath, [FIXTURE, dbUrl, socket, mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void }[] = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (const w of waiters) if (out.split('\n').includes(w.line)) w.resolve();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return {
    child,
    exited,
    printed: (line) =>
      new Promise((resolve, reject) => {
        if (out.split('\n').includes(line)) return resolve();
        waiters.push({ line, resolve });
        void exited.then(() => reject(new Error(`the server exited before printing ${line}:\n${err}`)));
      }),
  };
}

async function kill(server: ServerProcess): Promise<void> {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await server.exited;
}

async function countAndCheck(dbUrl: string): Promise<number> {
  const ds = await openDatastore(dbUrl);
  try {
    const { items } = await ds.entries.list();
    // A half-written entry would show up as one missing its selectors or DNS names.
    for (const e of items) {
      assert.equal(e.selectors.length, 1, `entry ${e.id} lost its selectors`);
      assert.equal(e.dnsNames.length, 1, `entry ${e.id} lost its DNS names`);
    }
    return items.length;
  } finally {
    await ds.close();
  }
}

describe('integration: admin batch create survives SIGKILL of the server', function () {
  this.timeout(180_000);
  let dir: string;
  let dataFile: string;
  const servers: ServerProcess[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-crash-'));
    dataFile = join(dir, 'batch.json');
    writeFileSync(dataFile, JSON.stringify({ entries: Array.from({ length: BATCH }, (_, i) => dataEntry(i, { dns_names: [`w${i}.example.org`] })) }));
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await kill(s);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('killed just before COMMIT: nothing is stored; a restarted server replaces the stale socket and the batch then succeeds', async () => {
    const dbUrl = `sqlite:${join(dir, 'hang.db')}`;
    const socket = join(dir, 'hang', 'admin.sock');
    const server = startServer(dbUrl, socket, 'hang');
    servers.push(server);
    await server.printed('listening');
    const cli = runSigil(['server', 'entry', 'create', '--data', dataFile, '--admin-socket', socket]);
    await server.printed('committing');
    await kill(server);
    const r = await cli;
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: cannot reach the sigil server on .*\nIs `sigil server run` running\?/);
    assert.equal(await countAndCheck(dbUrl), 0);
    assert.ok(existsSync(socket), 'SIGKILL leaves the socket file behind');

    const again = startServer(dbUrl, socket, 'plain');
    servers.push(again);
    await again.printed('listening');
    ok(await runSigil(['server', 'entry', 'create', '--data', dataFile, '--admin-socket', socket, '--output', 'json']));
    assert.equal(await countAndCheck(dbUrl), BATCH);
  });

  it('killed at arbitrary moments of the call: every time, all or nothing', async () => {
    const outcomes: number[] = [];
    // Timed from the moment the batch reaches the datastore: inserting, committing, answering.
    // 'answered' kills only after the CLI has its answer: the one outcome that must be "all".
    const moments: (number | 'answered')[] = [0, 20, 50, 100, 150, 250, 400, 'answered'];
    for (const [i, moment] of moments.entries()) {
      const dbUrl = `sqlite:${join(dir, `timed-${i}.db`)}`;
      const socket = join(dir, `timed-${i}`, 'admin.sock');
      const server = startServer(dbUrl, socket, 'plain');
      servers.push(server);
      await server.printed('listening');
      const cli: Promise<CliResult> = runSigil(['server', 'entry', 'create', '--data', dataFile, '--admin-socket', socket]);
      await server.printed('creating');
      if (moment === 'answered') await cli;
      else await new Promise((resolve) => setTimeout(resolve, moment));
      await kill(server);
      const r = await cli;
      const stored = await countAndCheck(dbUrl);
      assert.ok(stored === 0 || stored === BATCH, `after a kill at ${moment} (ms), ${stored} of ${BATCH} entries are stored`);
      // The CLI reports success only for a batch that is stored.
      if (r.status === 0) assert.equal(stored, BATCH);
      outcomes.push(stored);
    }
    // Both outcomes, or the kills did not straddle the commit and the test proved less than it says.
    assert.equal(outcomes.at(-1), BATCH);
    assert.ok(outcomes.includes(0) && outcomes.includes(BATCH), `outcomes: ${outcomes.join(', ')}`);
  });
});
