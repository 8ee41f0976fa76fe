/**
 * Restart keeps everything: the same data directory gives the same CA (bundle unchanged, the
 * journal's authorities reused, not recreated) and the same entries.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatastore } from '../../../server/datastore/open.js';
import type { StoredBundle } from '../../../server/datastore/types.js';
import { serverArgs, sigil, useServers } from './harness.js';

const TD = 'example.org';

async function readStore(dataDir: string): Promise<{ bundle: StoredBundle | undefined; spiffeIds: string[] }> {
  const ds = await openDatastore(`sqlite:${join(dataDir, 'datastore.sqlite3')}`);
  try {
    const entries = await ds.entries.list();
    return { bundle: await ds.bundles.get(TD), spiffeIds: entries.items.map((e) => e.spiffeId).sort() };
  } finally {
    await ds.close();
  }
}

describe('sigil server run: restart', function () {
  this.timeout(60_000);
  const servers = useServers();

  it('finds the same CA and the same entries in the same data directory', async () => {
    const dir = servers.tmp();
    const dataDir = join(dir, 'data');
    const first = servers.start(serverArgs(dir, TD));
    const { adminSocket } = await first.ready();
    for (const name of ['web', 'db']) {
      const r = sigil(
        'server', 'entry', 'create', '--admin-socket', adminSocket, '--id', name, '--spiffe-id', `spiffe://${TD}/${name}`,
        '--parent-id', `spiffe://${TD}/sigil/agent/join_token/t1`, '--selector', `unix:uid:${name.length}`,
      );
      assert.equal(r.status, 0, r.stderr);
    }
    const bundleBefore = sigil('server', 'bundle', 'show', '--admin-socket', adminSocket, '--format', 'spiffe');
    assert.equal(bundleBefore.status, 0, bundleBefore.stderr);
    assert.equal((await first.stop()).code, 0, first.output());
    const instanceId = readFileSync(join(dataDir, 'server-id'), 'utf8');
    const storedBefore = await readStore(dataDir);

    const second = servers.start(serverArgs(dir, TD));
    await second.ready();
    const bundleAfter = sigil('server', 'bundle', 'show', '--admin-socket', adminSocket, '--format', 'spiffe');
    assert.equal(bundleAfter.stdout, bundleBefore.stdout, 'the bundle is unchanged');
    const listed = sigil('server', 'entry', 'list', '--admin-socket', adminSocket, '--output', 'json');
    assert.equal(listed.status, 0, listed.stderr);
    const ids = (JSON.parse(listed.stdout) as { entries: { spiffe_id: string }[] }).entries.map((e) => e.spiffe_id).sort();
    assert.deepEqual(ids, [`spiffe://${TD}/db`, `spiffe://${TD}/web`], 'the entries are there, through the admin API');
    assert.equal((await second.stop()).code, 0, second.output());

    const storedAfter = await readStore(dataDir);
    assert.equal(readFileSync(join(dataDir, 'server-id'), 'utf8'), instanceId);
    assert.equal(storedAfter.bundle?.sequence, storedBefore.bundle?.sequence, 'no new bundle sequence number');
    assert.deepEqual(storedAfter.spiffeIds, [`spiffe://${TD}/db`, `spiffe://${TD}/web`]);
    const messages = second.logs().map((l) => l['msg']);
    assert.ok(messages.includes('reusing the X.509 CA from the journal'), messages.join(' | '));
    assert.ok(messages.includes('reusing the JWT key from the journal'), messages.join(' | '));
    assert.ok(!messages.includes('created an X.509 CA'), messages.join(' | '));
  });

  it('makes a new CA on restart with the memory key manager, keeping the old one in the bundle', async () => {
    const dir = servers.tmp();
    const dataDir = join(dir, 'data');
    const config = join(dir, 'memory.yaml');
    writeFileSync(config, 'ca:\n  keyManager:\n    type: memory\n');
    const args = ['--config', config, ...serverArgs(dir, TD)];

    const first = servers.start(args);
    await first.ready();
    assert.equal((await first.stop()).code, 0, first.output());
    const before = await readStore(dataDir);
    const second = servers.start(args);
    await second.ready();
    assert.equal((await second.stop()).code, 0, second.output());
    const after = await readStore(dataDir);

    const x509Count = (b: StoredBundle | undefined): number =>
      (JSON.parse(b!.document) as { keys: { use: string }[] }).keys.filter((k) => k.use === 'x509-svid').length;
    assert.equal(x509Count(before.bundle), 1);
    assert.equal(x509Count(after.bundle), 2, 'the new CA is added; the old one stays until it is pruned');
    assert.ok(second.logs().some((l) => String(l['msg']).startsWith("not reusing the journal's X.509 CA")));
  });
});
