/** Each entry rule through the CLI and the admin API: exit code 1 and the exact message on stderr. */
import assert from 'node:assert/strict';
import { useAdmin } from './harness.js';

const AGENT = 'spiffe://example.org/sigil/agent/join_token/abc';
const BASE = { '--spiffe-id': 'spiffe://example.org/web', '--parent-id': AGENT, '--selector': 'unix:uid:1000' };

type Flags = Partial<Record<string, string | null>>;

function args(overrides: Flags, extra: string[] = []): string[] {
  const merged: Flags = { ...BASE, ...overrides };
  const out = ['entry', 'create'];
  for (const [flag, value] of Object.entries(merged)) if (value !== null && value !== undefined) out.push(flag, value);
  return [...out, ...extra];
}

const CASES: [string, Flags, string[], string][] = [
  ['spiffe_id is required', { '--spiffe-id': null }, [], 'entry: spiffe_id: a SPIFFE ID is required'],
  ['spiffe_id must parse', { '--spiffe-id': 'example.org/web' }, [], 'entry: spiffe_id: "example.org/web" is not a valid SPIFFE ID: scheme is missing or invalid'],
  ['spiffe_id in this trust domain', { '--spiffe-id': 'spiffe://other.org/web' }, [],
    'entry: spiffe_id: trust domain "other.org" is not this server\'s trust domain "example.org"'],
  ['spiffe_id not reserved', { '--spiffe-id': 'spiffe://example.org/sigil/agent/x' }, [], "entry: spiffe_id: /sigil/… paths are reserved for sigil's own identities"],
  ['spiffe_id has a path', { '--spiffe-id': 'spiffe://example.org' }, [],
    'entry: spiffe_id: "spiffe://example.org" has no path: it names the whole trust domain, not a workload or node'],
  ['parent_id is required', { '--parent-id': null }, [], 'entry: parent_id: a SPIFFE ID is required'],
  ['parent_id in this trust domain', { '--parent-id': 'spiffe://other.org/sigil/server' }, [],
    'entry: parent_id: trust domain "other.org" is not this server\'s trust domain "example.org"'],
  ['at least one selector', { '--selector': null }, [], 'entry: selectors: at least one selector type:value is required'],
  ['x509 TTL within the CA maximum', {}, ['--x509-ttl', '999999'], "entry: x509_svid_ttl: 999999 s is above the CA's maximum of 14400 s"],
  ['JWT TTL within the CA maximum', {}, ['--jwt-ttl', '5h'], "entry: jwt_svid_ttl: 18000 s is above the CA's maximum of 14400 s"],
  ['DNS names valid', {}, ['--dns', 'ok.example.org', '--dns', 'bad..name'], 'entry: dns_names[1]: "bad..name" is not a valid DNS name'],
  ['federated trust domains valid', {}, ['--federates-with', 'Partner.org'],
    'entry: federates_with[0]: "Partner.org" is not a valid trust domain name: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores'],
  ['not federating with itself', {}, ['--federates-with', 'spiffe://example.org'], 'entry: federates_with[0]: "spiffe://example.org" is this server\'s own trust domain'],
  ['hint at most 1024 bytes', {}, ['--hint', 'h'.repeat(1025)], 'entry: hint: longer than 1024 bytes'],
  ['id charset', {}, ['--id', 'a/b'], 'entry: id: "a/b" may contain only letters, digits, ".", "_" and "-"'],
  ['id length', {}, ['--id', 'i'.repeat(256)], 'entry: id: longer than 255 characters'],
];

describe('integration: entry validation through the CLI', function () {
  this.timeout(60_000);
  const t = useAdmin();

  for (const [rule, overrides, extra, message] of CASES) {
    it(rule, async () => {
      const r = await t().sigil(...args(overrides, extra));
      assert.equal(r.status, 1);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `Error: ${message}\n`);
    });
  }

  it('nothing was created by any of them', async () => {
    assert.equal(await t().ds.entries.count(), 0);
  });

  it('the same entry without the fault is accepted', async () => {
    const r = await t().sigil(...args({}, ['--x509-ttl', '14400', '--dns', 'ok.example.org', '--federates-with', 'partner.org', '--hint', 'h'.repeat(1024)]));
    assert.equal(r.status, 0, r.stderr);
  });
});
