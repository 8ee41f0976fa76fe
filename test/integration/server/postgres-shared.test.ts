/**
 * Several `sigil server` processes on one PostgreSQL database (SIGIL_TEST_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test), in a schema of this run's own passed as `?schema=` in
 * the datastore URL and dropped at the end. Each server has its own data directory, hence its own
 * instance id, CA journal and CA; all publish into the one bundle, and see each other's entries.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { authorityIdOf } from '../../../server/ca/certificates.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { poll } from '../e2e/harness.js';
import { serverArgs, sigil, useServers } from './harness.js';

const BASE_URL = process.env['SIGIL_TEST_POSTGRES_URL'] || 'postgres://postgres@127.0.0.1:5432/test';
const TD = 'example.org';

async function admin(fn: (c: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: BASE_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

function x509AuthorityCount(document: string): number {
  return (JSON.parse(document) as { keys: { use: string }[] }).keys.filter((k) => k.use === 'x509-svid').length;
}

describe('sigil server run: two servers sharing one PostgreSQL database', function () {
  this.timeout(90_000);
  const servers = useServers();
  const run = `sigil_it_${process.pid}_${Date.now().toString(36)}`;
  const schemas: string[] = [];
  /** This test's database: a fresh schema, so the bundle holds only what this test's servers put there. */
  let url = '';
  beforeEach(() => {
    const schema = `${run}_${schemas.length + 1}`;
    schemas.push(schema);
    const u = new URL(BASE_URL);
    u.searchParams.set('schema', schema);
    url = u.toString();
  });

  before(async () => {
    try {
      await admin((c) => c.query('select 1'));
    } catch (err) {
      throw new Error(
        `PostgreSQL is not reachable at ${new URL(BASE_URL).host} (${err instanceof Error ? err.message : String(err)}): ` +
          'start one or set SIGIL_TEST_POSTGRES_URL=postgres://USER:PASSWORD@HOST:5432/DB',
      );
    }
  });
  after(() =>
    admin(async (c) => {
      for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
    }),
  );

  it('both start, each adds its CA to the one bundle, and an entry made through one is seen through the other', async () => {
    const dirA = servers.tmp();
    const dirB = servers.tmp();
    const a = servers.start([...serverArgs(dirA, TD), '--datastore', url]);
    const b = servers.start([...serverArgs(dirB, TD), '--datastore', url]);
    const [readyA, readyB] = await Promise.all([a.ready(), b.ready()]);
    assert.notEqual(readyA.port, readyB.port);

    const ds = await openDatastore(url);
    try {
      const bundle = await ds.bundles.get(TD);
      assert.ok(bundle, 'the bundle exists');
      assert.equal(x509AuthorityCount(bundle.document), 2, `two X.509 authorities, one per server: ${bundle.document}`);
      const journals = await Promise.all(
        [dirA, dirB].map((d) => ds.caJournals.get(readFileSync(join(d, 'data', 'server-id'), 'utf8').trim())),
      );
      assert.ok(journals.every((j) => j !== undefined), 'each server keeps its own CA journal');
    } finally {
      await ds.close();
    }

    const created = sigil(
      'server', 'entry', 'create', '--admin-socket', readyA.adminSocket, '--id', 'shared-web',
      '--spiffe-id', `spiffe://${TD}/web`, '--parent-id', `spiffe://${TD}/sigil/agent/join_token/t1`, '--selector', 'unix:uid:1000',
    );
    assert.equal(created.status, 0, created.stderr);
    const shown = sigil('server', 'entry', 'show', '--admin-socket', readyB.adminSocket, '--id', 'shared-web', '--output', 'json');
    assert.equal(shown.status, 0, shown.stderr);
    const shownIds = (JSON.parse(shown.stdout) as { entries: { spiffe_id: string }[] }).entries.map((e) => e.spiffe_id);
    assert.deepEqual(shownIds, [`spiffe://${TD}/web`]);
    const bundleA = sigil('server', 'bundle', 'show', '--admin-socket', readyA.adminSocket, '--format', 'spiffe');
    const bundleB = sigil('server', 'bundle', 'show', '--admin-socket', readyB.adminSocket, '--format', 'spiffe');
    assert.equal(bundleA.status, 0, bundleA.stderr);
    assert.equal(bundleA.stdout, bundleB.stdout, 'both servers serve the one bundle');
    assert.equal(x509AuthorityCount(bundleA.stdout), 2);

    assert.equal((await a.stop()).code, 0, a.output());
    assert.equal((await b.stop()).code, 0, b.output());
  });

  it('a restarted server finds its own CA among the others', async () => {
    const dirA = servers.tmp();
    const dirB = servers.tmp();
    const a = servers.start([...serverArgs(dirA, TD), '--datastore', url]);
    await a.ready();
    const b = servers.start([...serverArgs(dirB, TD), '--datastore', url]);
    await b.ready();
    assert.equal((await a.stop()).code, 0, a.output());
    const again = servers.start([...serverArgs(dirA, TD), '--datastore', url]);
    await again.ready();
    const messages = again.logs().map((l) => l['msg']);
    assert.ok(messages.includes('reusing the X.509 CA from the journal'), messages.join(' | '));
    assert.equal((await again.stop()).code, 0);
    assert.equal((await b.stop()).code, 0);
  });

  it("each server rotates and prunes its own authorities in the one bundle, never the other's", async () => {
    const dirA = servers.tmp();
    const dirB = servers.tmp();
    // A's CA lives 6 s: prepared at 3 s, active at 5 s, expired at 6 s, out of the bundle at 7 s. B keeps the default 24 h.
    writeFileSync(join(dirA, 'short.yaml'), JSON.stringify({ ca: { ttl: 6 }, svid: { x509Ttl: 1, agentTtl: 1, jwtTtl: 1 } }));
    const a = servers.start([...serverArgs(dirA, TD), '--datastore', url, '--config', join(dirA, 'short.yaml')]);
    const b = servers.start([...serverArgs(dirB, TD), '--datastore', url]);
    const [readyA, readyB] = await Promise.all([a.ready(), b.ready()]);
    type Shown = { x509: { authorities: { status: string; authority_id: string }[] }; jwt: { authorities: { status: string; key_id: string }[] } };
    const show = (socket: string): Shown => {
      const r = sigil('server', 'ca', 'show', '--output', 'json', '--admin-socket', socket);
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Shown;
    };
    const firstA = show(readyA.adminSocket);
    const ownB = show(readyB.adminSocket);
    const bundleKeys = async (): Promise<{ kids: string[]; x509: number }> => {
      const ds = await openDatastore(url);
      try {
        const doc = (await ds.bundles.get(TD))!.document;
        const keys = (JSON.parse(doc) as { keys: { use: string; kid?: string }[] }).keys;
        return { kids: keys.filter((k) => k.use === 'jwt-svid').map((k) => k.kid!), x509: x509AuthorityCount(doc) };
      } finally {
        await ds.close();
      }
    };
    const firstKidA = firstA.jwt.authorities[0]!.key_id;
    const kidB = ownB.jwt.authorities[0]!.key_id;
    const before = (await bundleKeys()).kids;
    assert.ok(before.includes(firstKidA) && before.includes(kidB), 'both servers publish into the one bundle');

    // Wait until A has dropped its first authorities from the journal, and so from the bundle.
    await poll(
      'server A pruning its first CA and JWT key',
      () => {
        const now = show(readyA.adminSocket);
        const ids = [...now.x509.authorities.map((x) => x.authority_id), ...now.jwt.authorities.map((k) => k.key_id)];
        return ids.includes(firstA.x509.authorities[0]!.authority_id) || ids.includes(firstKidA) ? undefined : true;
      },
      20_000,
      () => JSON.stringify(show(readyA.adminSocket)),
      500,
    );
    const after = await bundleKeys();
    assert.ok(!after.kids.includes(firstKidA), "A's first JWT key left the bundle");
    assert.ok(after.kids.includes(kidB), "B's JWT key is still there");
    assert.deepEqual(show(readyB.adminSocket), ownB, 'B rotated nothing and lost nothing');
    // Through B's CLI: B's CA is there, A's first is not (A keeps rotating meanwhile, so no count).
    const bundleB = sigil('server', 'bundle', 'show', '--admin-socket', readyB.adminSocket, '--format', 'pem');
    const ids = (bundleB.stdout.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [])
      .map((pem) => authorityIdOf(new X509Certificate(pem)));
    assert.ok(ids.includes(ownB.x509.authorities[0]!.authority_id), "B's CA is in the bundle");
    assert.ok(!ids.includes(firstA.x509.authorities[0]!.authority_id), "A's first CA is not");
    assert.equal((await a.stop()).code, 0, a.output());
    assert.equal((await b.stop()).code, 0, b.output());
  });
});
