/** `sigil server entry …` against a real admin API: create → show → list (each filter) → update → delete. */
import assert from 'node:assert/strict';
import { SERVER_ID, json, ok, useAdmin } from './harness.js';

interface JsonEntry {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: { type: string; value: string }[];
  x509_svid_ttl: number;
  jwt_svid_ttl: number;
  federates_with: string[];
  admin: boolean;
  downstream: boolean;
  expires_at: number;
  dns_names: string[];
  revision_number: number;
  hint: string;
  created_at: number;
}

const AGENT = 'spiffe://example.org/sigil/agent/join_token/abc';

describe('integration: admin entries through the CLI', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('create prints the entry as spire-server does, with every field set from flags', async () => {
    const r = ok(
      await t().sigil(
        'entry', 'create', '--id', 'web', '--spiffe-id', 'spiffe://example.org/web', '--parent-id', AGENT,
        '--selector', 'unix:uid:1000', '--selector', 'unix:gid:50', '--x509-ttl', '1h', '--jwt-ttl', '300',
        '--dns', 'web.example.org', '--dns', 'www.example.org', '--federates-with', 'partner.org', '--admin', '--downstream',
        '--expires-at', '2100-01-01T00:00:00Z', '--hint', 'frontend',
      ),
    );
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.slice(0, 14), [
      'Entry ID        : web',
      'SPIFFE ID       : spiffe://example.org/web',
      `Parent ID       : ${AGENT}`,
      'Revision        : 0',
      'Downstream      : true',
      'X509-SVID TTL   : 3600',
      'JWT-SVID TTL    : 300',
      'Expiration time : 2100-01-01T00:00:00Z',
      'Selector        : unix:gid:50',
      'Selector        : unix:uid:1000',
      'FederatesWith   : partner.org',
      'DNS name        : web.example.org',
      'DNS name        : www.example.org',
      'Admin           : true',
    ]);
    assert.equal(lines[14], 'Hint            : frontend');
    assert.match(lines[15]!, /^Created at      : \d{4}-\d\d-\d\dT/);
    const stored = await t().ds.entries.get('web');
    assert.equal(stored?.expiresAt, Date.parse('2100-01-01T00:00:00Z') / 1000);
  });

  it('--node makes a node-alias entry parented to the server ID', async () => {
    const r = ok(await t().sigil('entry', 'create', '--node', '--spiffe-id', 'spiffe://example.org/racks/a', '--selector', 'tpm:pcr:1', '--output', 'json'));
    const out = json<{ results: { status: { code: number }; entry: JsonEntry }[] }>(r);
    assert.equal(out.results[0]!.status.code, 0);
    assert.equal(out.results[0]!.entry.parent_id, SERVER_ID);
  });

  it('show --id prints one entry; --output json uses SPIRE field names', async () => {
    const text = ok(await t().sigil('entry', 'show', '--id', 'web'));
    assert.match(text.stdout, /^Found 1 entry\nEntry ID {8}: web\n/);
    const out = json<{ entries: JsonEntry[] }>(ok(await t().sigil('entry', 'show', '--id', 'web', '--output', 'json')));
    const e = out.entries[0]!;
    assert.deepEqual(Object.keys(e), [
      'id', 'spiffe_id', 'parent_id', 'selectors', 'x509_svid_ttl', 'jwt_svid_ttl', 'federates_with', 'admin', 'downstream',
      'expires_at', 'dns_names', 'revision_number', 'hint', 'created_at',
    ]);
    assert.deepEqual(e.selectors, [{ type: 'unix', value: 'gid:50' }, { type: 'unix', value: 'uid:1000' }]);
    assert.equal(e.x509_svid_ttl, 3600);
    assert.equal(e.revision_number, 0);
    assert.equal(typeof e.created_at, 'number');
  });

  it('show of an unknown id fails with NOT_FOUND and a hint, exit code 1', async () => {
    const r = await t().sigil('entry', 'show', '--id', 'nope');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Error: datastore: entry "nope" not found\n.*sigil server entry list/);
  });

  describe('list filters', () => {
    before(async () => {
      const mk = (...args: string[]) => t().sigil('entry', 'create', ...args).then(ok);
      await mk('--id', 'db', '--spiffe-id', 'spiffe://example.org/db', '--parent-id', AGENT, '--selector', 'unix:uid:1000', '--hint', 'backend');
      await mk('--id', 'batch', '--spiffe-id', 'spiffe://example.org/batch', '--parent-id', SERVER_ID, '--selector', 'unix:uid:2000', '--selector', 'k8s:ns:jobs', '--downstream');
    });

    const ids = async (...args: string[]): Promise<string[]> =>
      json<{ entries: JsonEntry[] }>(ok(await t().sigil('entry', 'list', '--output', 'json', ...args))).entries.map((e) => e.id).sort();

    it('no filter lists everything, with "Found N entries" in text', async () => {
      assert.equal((await ids()).length, 4);
      const text = ok(await t().sigil('entry', 'list'));
      assert.match(text.stdout, /^Found 4 entries\nEntry ID/);
      assert.equal(text.stdout.match(/^Entry ID/gm)?.length, 4);
    });
    it('--spiffe-id', async () => assert.deepEqual(await ids('--spiffe-id', 'spiffe://example.org/db'), ['db']));
    it('--parent-id', async () => assert.deepEqual(await ids('--parent-id', AGENT), ['db', 'web']));
    it('--selector, superset by default', async () => assert.deepEqual(await ids('--selector', 'unix:uid:1000'), ['db', 'web']));
    it('--match-selectors-on exact', async () =>
      assert.deepEqual(await ids('--selector', 'unix:uid:1000', '--match-selectors-on', 'exact'), ['db']));
    it('--match-selectors-on subset', async () =>
      assert.deepEqual(await ids('--selector', 'unix:uid:1000', '--selector', 'unix:gid:50', '--selector', 'x:y', '--match-selectors-on', 'subset'), ['db', 'web']));
    it('--match-selectors-on any', async () =>
      assert.deepEqual(await ids('--selector', 'k8s:ns:jobs', '--selector', 'unix:gid:50', '--match-selectors-on', 'any'), ['batch', 'web']));
    it('--federates-with', async () => assert.deepEqual(await ids('--federates-with', 'partner.org'), ['web']));
    it('--hint', async () => assert.deepEqual(await ids('--hint', 'backend'), ['db']));
    it('--downstream and --downstream false', async () => {
      assert.deepEqual(await ids('--downstream'), ['batch', 'web']);
      const others = (await t().ds.entries.list({ downstream: false })).items.map((e) => e.id).sort();
      assert.equal(others.length, 2);
      assert.deepEqual(await ids('--downstream', 'false'), others);
    });
    it('a filter that matches nothing says "Found 0 entries"', async () => {
      assert.equal(ok(await t().sigil('entry', 'list', '--hint', 'none')).stdout, 'Found 0 entries\n');
    });
    it('count takes the same filters', async () => {
      assert.equal(ok(await t().sigil('entry', 'count', '--parent-id', AGENT)).stdout, '2 registration entries\n');
      assert.deepEqual(json(ok(await t().sigil('entry', 'count', '--output', 'json'))), { count: 4 });
    });
  });

  it('bad flag values are named before anything is sent', async () => {
    const sel = await t().sigil('entry', 'create', '--spiffe-id', 'spiffe://example.org/x', '--parent-id', AGENT, '--selector', 'nocolon');
    assert.equal(sel.status, 1);
    assert.equal(sel.stderr, 'Error: --selector "nocolon" is not type:value\nWrite selectors as type:value, e.g. --selector unix:uid:1000.\n');
    const ttl = await t().sigil('entry', 'create', '--spiffe-id', 'spiffe://example.org/x', '--parent-id', AGENT, '--selector', 'a:b', '--x509-ttl', 'soon');
    assert.match(ttl.stderr, /^Error: --x509-ttl "soon" is not a duration\n/);
    const both = await t().sigil('entry', 'create', '--node', '--parent-id', AGENT, '--spiffe-id', 'spiffe://example.org/x', '--selector', 'a:b');
    assert.match(both.stderr, /^Error: --node and --parent-id both set the parent\n/);
  });

  describe('update and delete', () => {
    it('update changes only the flags given and bumps the revision each time', async () => {
      const first = json<{ results: { entry: JsonEntry }[] }>(
        ok(await t().sigil('entry', 'update', '--id', 'db', '--x509-ttl', '600', '--dns', 'db.example.org', '--output', 'json')),
      ).results[0]!.entry;
      assert.equal(first.revision_number, 1);
      assert.equal(first.x509_svid_ttl, 600);
      assert.deepEqual(first.dns_names, ['db.example.org']);
      assert.equal(first.hint, 'backend');
      assert.deepEqual(first.selectors, [{ type: 'unix', value: 'uid:1000' }]);
      const second = ok(await t().sigil('entry', 'update', '--id', 'db', '--selector', 'unix:uid:7', '--hint', '', '--clear-dns', '--admin'));
      assert.match(second.stdout, /^Revision {8}: 2$/m);
      const stored = await t().ds.entries.get('db');
      assert.deepEqual(stored?.selectors, [{ type: 'unix', value: 'uid:7' }]);
      assert.equal(stored?.hint, '');
      assert.deepEqual(stored?.dnsNames, []);
      assert.equal(stored?.admin, true);
      assert.equal(stored?.x509SvidTtl, 600);
      ok(await t().sigil('entry', 'update', '--id', 'db', '--admin', 'false'));
      assert.equal((await t().ds.entries.get('db'))?.admin, false);
    });

    it('update validates like create and changes nothing when it fails', async () => {
      const r = await t().sigil('entry', 'update', '--id', 'db', '--x509-ttl', '999999');
      assert.equal(r.status, 1);
      assert.equal(r.stderr, "Error: entry: x509_svid_ttl: 999999 s is above the CA's maximum of 14400 s\n");
      assert.equal((await t().ds.entries.get('db'))?.revision, 3);
    });

    it('update without a field flag is refused before calling the server', async () => {
      const r = await t().sigil('entry', 'update', '--id', 'db');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^Error: nothing to update\nGive the fields to change/);
    });

    it('update into a duplicate of another entry is ALREADY_EXISTS', async () => {
      const r = await t().sigil('entry', 'update', '--id', 'db', '--spiffe-id', 'spiffe://example.org/web', '--selector', 'unix:uid:1000', '--selector', 'unix:gid:50');
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^Error: datastore: an entry with spiffe_id "spiffe:\/\/example.org\/web", parent_id ".*" and the same selectors already exists \(id "web"\)/);
    });

    it('delete removes all given ids, or none when one is missing', async () => {
      const refused = await t().sigil('entry', 'delete', '--id', 'db', '--id', 'missing');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /^Error: datastore: entry "missing" not found/);
      assert.ok(await t().ds.entries.get('db'));
      const r = ok(await t().sigil('entry', 'delete', '--id', 'db', '--id', 'web'));
      assert.equal(r.stdout, 'Deleted entry with ID: db\nDeleted entry with ID: web\n');
      assert.equal(await t().ds.entries.get('web'), undefined);
      const j = json<{ results: { status: { code: number }; id: string }[] }>(ok(await t().sigil('entry', 'delete', '--id', 'batch', '--output', 'json')));
      assert.deepEqual(j.results, [{ status: { code: 0, message: 'OK' }, id: 'batch' }]);
    });

    it('a duplicate create is ALREADY_EXISTS naming the existing entry', async () => {
      const args = ['entry', 'create', '--spiffe-id', 'spiffe://example.org/dup', '--parent-id', AGENT, '--selector', 'unix:uid:1'];
      const first = json<{ results: { entry: JsonEntry }[] }>(ok(await t().sigil(...args, '--output', 'json')));
      const r = await t().sigil(...args);
      assert.equal(r.status, 1);
      assert.ok(r.stderr.includes(`already exists (id "${first.results[0]!.entry.id}")`), r.stderr);
    });
  });
});
