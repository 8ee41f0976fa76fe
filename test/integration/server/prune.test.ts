/** The pruner: expired entries and join tokens are deleted (on start, then every minute). */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openDatastore } from '../../../server/datastore/open.js';
import { serverArgs, sigil, useServers } from './harness.js';

const TD = 'example.org';

function token(adminSocket: string, ttl: string): { value: string; expires_at: number } {
  const r = sigil('server', 'token', 'generate', '--admin-socket', adminSocket, '--ttl', ttl, '--output', 'json');
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { value: string; expires_at: number };
}

function entryIds(adminSocket: string): string[] {
  const r = sigil('server', 'entry', 'list', '--admin-socket', adminSocket, '--output', 'json');
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { entries: { id: string }[] }).entries.map((e) => e.id).sort();
}

describe('sigil server run: pruning', function () {
  this.timeout(60_000);
  const servers = useServers();

  it('deletes expired entries and join tokens, and nothing else', async () => {
    const dir = servers.tmp();
    const first = servers.start(serverArgs(dir, TD));
    const { adminSocket } = await first.ready();
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    for (const [id, expiry] of [['brief', String(expiresAt)], ['lasting', 'never']] as const) {
      const r = sigil(
        'server', 'entry', 'create', '--admin-socket', adminSocket, '--id', id, '--spiffe-id', `spiffe://${TD}/${id}`,
        '--parent-id', `spiffe://${TD}/sigil/agent/join_token/t1`, '--selector', 'unix:uid:1', '--expires-at', expiry,
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const briefToken = token(adminSocket, '1');
    const lastingToken = token(adminSocket, '10m');
    assert.equal((await first.stop()).code, 0, first.output());
    // Pruned once strictly past their expiry (whole seconds), so wait for the second after it.
    const lastExpiry = Math.max(expiresAt, briefToken.expires_at);
    await new Promise((r) => setTimeout(r, Math.max(0, (lastExpiry + 1) * 1000 + 100 - Date.now())));

    const second = servers.start(serverArgs(dir, TD));
    await second.ready();
    for (let i = 0; entryIds(adminSocket).length !== 1 && i < 50; i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(entryIds(adminSocket), ['lasting']);
    assert.equal((await second.stop()).code, 0, second.output());
    const pruned = second.logs().filter((l) => l['msg'] === 'pruner: deleted expired records');
    assert.deepEqual(pruned.map((l) => [l['entries'], l['joinTokens']]), [[1, 1]], second.output());

    const ds = await openDatastore(`sqlite:${join(dir, 'data', 'datastore.sqlite3')}`);
    try {
      assert.equal(await ds.joinTokens.consume(briefToken.value), undefined, 'the expired token is gone');
      assert.notEqual(await ds.joinTokens.consume(lastingToken.value), undefined, 'the other token is kept');
    } finally {
      await ds.close();
    }
  });
});
