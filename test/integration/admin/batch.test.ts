/** `entry create --data`: SPIRE's -data format, 1,000 entries in one transaction, all or nothing. */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataEntry, json, ok, useAdmin } from './harness.js';

const writeData = (dir: string, name: string, entries: unknown[]): string => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ entries }));
  return path;
};

describe('integration: admin batch create (entry create --data)', function () {
  this.timeout(120_000);
  const t = useAdmin();

  afterEach(async () => {
    const all = (await t().ds.entries.list()).items.map((e) => e.id);
    if (all.length > 0) await t().ds.entries.delete(all);
  });

  it('creates 1,000 entries from a file in one call and prints each', async () => {
    const file = writeData(t().dir, 'thousand.json', Array.from({ length: 1000 }, (_, i) => dataEntry(i, { dns_names: [`w${i}.example.org`] })));
    const r = ok(await t().sigil('entry', 'create', '--data', file));
    assert.equal(r.stdout.match(/^Entry ID /gm)?.length, 1000);
    assert.equal(await t().ds.entries.count(), 1000);
    const e = (await t().ds.entries.list({ spiffeId: 'spiffe://example.org/workload/999' })).items[0];
    assert.deepEqual(e?.dnsNames, ['w999.example.org']);
    assert.deepEqual(e?.selectors, [{ type: 'unix', value: 'uid:999' }]);
  });

  it('one invalid entry among 1,000 creates nothing and names it by index, SPIFFE ID and field', async () => {
    const entries = Array.from({ length: 1000 }, (_, i) => dataEntry(i));
    entries[517] = dataEntry(517, { selectors: [] });
    const r = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'one-bad.json', entries));
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      'Error: 1 of 1000 entries cannot be created, so none was:\n' +
        '  entries[517] (spiffe_id "spiffe://example.org/workload/517"): entry: selectors: at least one selector type:value is required\n',
    );
    assert.equal(await t().ds.entries.count(), 0);
  });

  it('lists every bad entry (the first 20, then a count), duplicates within the batch included', async () => {
    const entries = Array.from({ length: 100 }, (_, i) => dataEntry(i));
    for (let i = 10; i < 40; i++) entries[i] = dataEntry(i, { x509_svid_ttl: 999999 });
    entries[5] = dataEntry(3);
    const r = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'many-bad.json', entries));
    assert.equal(r.status, 1);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines[0], 'Error: 31 of 100 entries cannot be created, so none was:');
    assert.equal(lines[1], '  entries[5] (spiffe_id "spiffe://example.org/workload/3"): entry: same spiffe_id, parent_id and selectors as entries[3]');
    assert.equal(lines[2], '  entries[10] (spiffe_id "spiffe://example.org/workload/10"): entry: x509_svid_ttl: 999999 s is above the CA\'s maximum of 14400 s');
    assert.equal(lines.length, 1 + 20 + 1);
    assert.equal(lines[21], '  … and 11 more');
    assert.equal(await t().ds.entries.count(), 0);
  });

  it('a duplicate of an existing entry fails the whole batch', async () => {
    ok(await t().sigil('entry', 'create', '--data', writeData(t().dir, 'first.json', [dataEntry(7)])));
    const r = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'second.json', [dataEntry(6), dataEntry(7), dataEntry(8)]));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: datastore: an entry with spiffe_id "spiffe:\/\/example.org\/workload\/7", .* already exists/);
    assert.equal(await t().ds.entries.count(), 1);
  });

  it("reads SPIRE's -data files unchanged: string IDs, entry_id, camelCase, ttl, spiffe:// trust domains", async () => {
    const spire = {
      entries: [
        {
          selectors: [{ type: 'unix', value: 'uid:1111' }],
          spiffe_id: 'spiffe://example.org/Blog',
          parent_id: 'spiffe://example.org/spire/agent/join_token/TokenBlog',
          ttl: 200,
          jwtSvidTtl: 30,
          entry_id: 'blog',
          federates_with: ['spiffe://partner.org'],
          dnsNames: ['blog.example.org'],
          entryExpiry: '4102444800',
          admin: true,
          store_svid: false,
        },
        {
          spiffeId: 'spiffe://example.org/Database',
          parentId: 'spiffe://example.org/spire/agent/join_token/TokenDatabase',
          selectors: [{ type: 'unix', value: 'uid:1111' }],
          hint: 'db',
        },
      ],
    };
    writeFileSync(join(t().dir, 'spire.json'), JSON.stringify(spire));
    ok(await t().sigil('entry', 'create', '--data', join(t().dir, 'spire.json')));
    const blog = await t().ds.entries.get('blog');
    assert.deepEqual(
      { ...blog, createdAt: 0 },
      {
        id: 'blog',
        spiffeId: 'spiffe://example.org/Blog',
        parentId: 'spiffe://example.org/spire/agent/join_token/TokenBlog',
        selectors: [{ type: 'unix', value: 'uid:1111' }],
        x509SvidTtl: 200,
        jwtSvidTtl: 30,
        dnsNames: ['blog.example.org'],
        federatesWith: ['partner.org'],
        admin: true,
        downstream: false,
        expiresAt: 4102444800,
        hint: '',
        revision: 0,
        createdAt: 0,
      },
    );
    assert.equal((await t().ds.entries.list({ hint: 'db' })).items.length, 1);
  });

  it("reads `spire-server entry show -output json` too ({trust_domain, path} IDs, output-only fields), from stdin", async () => {
    const shown = {
      entries: [
        {
          id: 'shown',
          spiffe_id: { trust_domain: 'example.org', path: '/shown' },
          parent_id: { trust_domain: 'example.org', path: '/sigil/server' },
          selectors: [{ type: 'k8s', value: 'ns:default' }],
          x509_svid_ttl: 3600,
          revision_number: '4',
          created_at: '1700000000',
        },
      ],
    };
    ok(await t().sigilWithInput(JSON.stringify(shown), 'entry', 'create', '--data', '-'));
    const e = await t().ds.entries.get('shown');
    assert.equal(e?.spiffeId, 'spiffe://example.org/shown');
    assert.equal(e?.revision, 0);
  });

  it('`entry list --output json` feeds back into `entry create --data -` (a round trip keeps every field)', async () => {
    ok(await t().sigil('entry', 'create', '--id', 'rt', '--spiffe-id', 'spiffe://example.org/rt', '--parent-id', 'spiffe://example.org/sigil/server',
      '--selector', 'a:b', '--dns', 'rt.example.org', '--federates-with', 'x.org', '--hint', 'h', '--expires-at', '4102444800', '--jwt-ttl', '60'));
    const before = await t().ds.entries.get('rt');
    const listed = ok(await t().sigil('entry', 'list', '--output', 'json')).stdout;
    await t().ds.entries.delete(['rt']);
    ok(await t().sigilWithInput(listed, 'entry', 'create', '--data', '-'));
    const after = await t().ds.entries.get('rt');
    assert.deepEqual({ ...after, createdAt: 0 }, { ...before, createdAt: 0 });
  });

  it('names unknown fields, unsupported SPIRE features and bad JSON in the file', async () => {
    const unknown = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'unknown.json', [dataEntry(1), dataEntry(2, { color: 'red' })]));
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^Error: entries\[1\]\.color: unknown field\n/);
    const store = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'store.json', [dataEntry(1, { store_svid: true })]));
    assert.match(store.stderr, /^Error: entries\[0\]\.store_svid: is not supported by sigil\n/);
    const typed = await t().sigil('entry', 'create', '--data', writeData(t().dir, 'typed.json', [dataEntry(1, { x509_svid_ttl: '1h' })]));
    assert.match(typed.stderr, /^Error: entries\[0\]\.x509_svid_ttl: must be a whole number\n/);
    const bad = await t().sigilWithInput('{"entries": [', 'entry', 'create', '--data', '-');
    assert.match(bad.stderr, /^Error: standard input is not valid JSON: /);
    const shape = await t().sigilWithInput('[]', 'entry', 'create', '--data', '-');
    assert.match(shape.stderr, /^Error: standard input: has no "entries" list\nThe file must hold \{"entries": /);
    const missing = await t().sigil('entry', 'create', '--data', join(t().dir, 'absent.json'));
    assert.match(missing.stderr, /^Error: cannot read .*absent\.json: ENOENT/);
    const mixed = await t().sigil('entry', 'create', '--data', join(t().dir, 'absent.json'), '--spiffe-id', 'spiffe://example.org/x');
    assert.match(mixed.stderr, /^Error: --data takes every field from the file: leave out the entry field flags\n/);
    assert.equal(await t().ds.entries.count(), 0);
  });

  it('--output json prints SPIRE-like per-entry results', async () => {
    const r = ok(await t().sigil('entry', 'create', '--output', 'json', '--data', writeData(t().dir, 'two.json', [dataEntry(1), dataEntry(2)])));
    const out = json<{ results: { status: { code: number; message: string }; entry: { spiffe_id: string } }[] }>(r);
    assert.deepEqual(out.results.map((x) => [x.status.code, x.status.message, x.entry.spiffe_id]), [
      [0, 'OK', 'spiffe://example.org/workload/1'],
      [0, 'OK', 'spiffe://example.org/workload/2'],
    ]);
  });
});
