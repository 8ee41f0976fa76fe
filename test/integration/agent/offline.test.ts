/**
 * Offline behaviour, with the agent as a real `sigil agent run` process serving the Workload API:
 * when the server stops, cached SVIDs are still served and health says "degraded" and why; when
 * it returns, entries created meanwhile (written to its datastore while it was down) appear.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { openDatastore } from '../../../server/datastore/open.js';
import { agentArgs, agentIdFor, entries, SIGIL, TD, UID_SELECTOR, until, useFixtures } from './harness.js';

/** `bin/sigil ARGS` without blocking this event loop (the server runs in it). */
function sigil(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SIGIL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

async function fetchedIds(socket: string): Promise<string[]> {
  const r = await sigil('agent', 'api', 'fetch', 'x509', '--socket-path', socket, '--output', 'json');
  if (r.status !== 0) return [];
  const out = JSON.parse(r.stdout) as { svids?: { spiffe_id?: string; spiffeId?: string }[] };
  return (out.svids ?? []).map((s) => s.spiffe_id ?? s.spiffeId ?? '').sort();
}

describe('agent: offline', function () {
  this.timeout(90_000);
  const f = useFixtures();

  it('serves cached SVIDs while the server is down, says so, and catches up when it returns', async () => {
    const server = await f.server();
    const token = await server.token();
    const parent = agentIdFor(token);
    await server.createEntries(entries(parent, 2, 'cached'));
    const dir = f.tmp();
    const agent = f.process(agentArgs(server, dir, token));
    const { socketPath } = await agent.ready();
    const cached = [`spiffe://${TD}/cached/0`, `spiffe://${TD}/cached/1`];
    await until('both SVIDs fetched', async () => (await fetchedIds(socketPath)).length === 2, 15_000);

    await server.stop();
    await until('the agent noticed', () => agent.messages().includes('agent: the server is unreachable; serving cached SVIDs until they expire'));
    assert.deepEqual(await fetchedIds(socketPath), cached, 'cached SVIDs are still served');
    const health = await sigil('agent', 'healthcheck', '--socket-path', socketPath, '--verbose');
    assert.equal(health.status, 0, `still ready while degraded: ${health.stdout}${health.stderr}`);
    assert.match(health.stdout, /degraded: the server at 127\.0\.0\.1:\d+ is unreachable since .* serving 2 cached SVIDs until they expire/);

    // Entries created while the server is down (straight into its datastore), seen once it is back.
    const ds = await openDatastore(`sqlite:${join(server.dir, 'server', 'datastore.sqlite3')}`);
    try {
      await ds.entries.create([
        {
          spiffeId: `spiffe://${TD}/while-down`, parentId: parent, selectors: [UID_SELECTOR], x509SvidTtl: 0, jwtSvidTtl: 0,
          dnsNames: [], federatesWith: [], admin: false, downstream: false, expiresAt: null, hint: '',
        },
      ]);
    } finally {
      await ds.close();
    }
    await server.restart();
    await until('the new entry is served', async () => (await fetchedIds(socketPath)).includes(`spiffe://${TD}/while-down`), 30_000);
    await until('not degraded any more', async () => {
      const h = await sigil('agent', 'healthcheck', '--socket-path', socketPath, '--verbose');
      return h.status === 0 && !h.stdout.includes('degraded');
    });
    assert.ok(agent.messages().includes('agent: the server is reachable again'), agent.output());
  });
});
