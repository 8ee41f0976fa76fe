/**
 * `sigil server token generate`: what it stores for the attestation side (single-use tokens with an
 * expiry) and the alias entry --spiffe-id makes. Attesting with the token is tested elsewhere.
 */
import assert from 'node:assert/strict';
import { json, ok, useAdmin } from './harness.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const now = (): number => Math.floor(Date.now() / 1000);

interface TokenJson {
  value: string;
  expires_at: number;
  ttl: number;
  agent_id: string;
  alias_entry?: { id: string; spiffe_id: string; parent_id: string; selectors: { type: string; value: string }[] };
}

describe('integration: admin join tokens', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('prints the token first, as spire-server does, then its expiry (600 s by default) and agent ID', async () => {
    const before = now();
    const r = ok(await t().sigil('token', 'generate'));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const token = /^Token: (.+)$/.exec(lines[0]!)?.[1] ?? '';
    assert.match(token, UUID_V4);
    const expiry = /^Expires at: (\S+) \(TTL 600 s\)$/.exec(lines[1]!)?.[1] ?? '';
    const expiresAt = Date.parse(expiry) / 1000;
    assert.ok(expiresAt >= before + 600 && expiresAt <= now() + 600, lines[1]);
    assert.equal(lines[2], `Agent ID: spiffe://example.org/sigil/agent/join_token/${token}`);
    const stored = await t().ds.joinTokens.consume(token);
    assert.deepEqual(stored, { token, expiresAt, aliasSpiffeId: null });
  });

  it('a token is single use: the second use finds nothing', async () => {
    const { value } = json<TokenJson>(ok(await t().sigil('token', 'generate', '--output', 'json')));
    assert.notEqual(await t().ds.joinTokens.consume(value), undefined);
    assert.equal(await t().ds.joinTokens.consume(value), undefined);
  });

  it('every token is new', async () => {
    const a = json<TokenJson>(ok(await t().sigil('token', 'generate', '--output', 'json')));
    const b = json<TokenJson>(ok(await t().sigil('token', 'generate', '--output', 'json')));
    assert.notEqual(a.value, b.value);
  });

  it('--ttl sets the expiry; an expired token is past its expires_at and pruned', async () => {
    const before = now();
    const out = json<TokenJson>(ok(await t().sigil('token', 'generate', '--ttl', '1', '--output', 'json')));
    assert.deepEqual(Object.keys(out), ['value', 'expires_at', 'ttl', 'agent_id']);
    assert.equal(out.ttl, 1);
    assert.ok(out.expires_at >= before + 1 && out.expires_at <= now() + 1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    assert.ok(out.expires_at < now(), 'the token has expired');
    assert.equal(await t().ds.joinTokens.pruneExpired(now()), 1);
    assert.equal(await t().ds.joinTokens.consume(out.value), undefined);
  });

  it('--ttl takes units', async () => {
    const out = json<TokenJson>(ok(await t().sigil('token', 'generate', '--ttl', '2h', '--output', 'json')));
    assert.equal(out.ttl, 7200);
    const bad = await t().sigil('token', 'generate', '--ttl', 'soon');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^Error: --ttl "soon" is not a duration\n/);
  });

  it('--spiffe-id creates the alias entry SPIRE makes: parent = the token agent, selector spiffe_id:<agent>', async () => {
    const out = json<TokenJson>(ok(await t().sigil('token', 'generate', '--spiffe-id', 'spiffe://example.org/nodes/n1', '--output', 'json')));
    const agentId = `spiffe://example.org/sigil/agent/join_token/${out.value}`;
    assert.equal(out.agent_id, agentId);
    assert.equal(out.alias_entry?.spiffe_id, 'spiffe://example.org/nodes/n1');
    const entry = await t().ds.entries.get(out.alias_entry!.id);
    assert.equal(entry?.parentId, agentId);
    assert.deepEqual(entry?.selectors, [{ type: 'spiffe_id', value: agentId }]);
    const text = ok(await t().sigil('token', 'generate', '--spiffe-id', 'spiffe://example.org/nodes/n2'));
    assert.match(text.stdout, /^Alias entry: \S+ \(spiffe:\/\/example.org\/nodes\/n2\)$/m);
  });

  it('a bad --spiffe-id is refused naming agent_id, and leaves no entry behind', async () => {
    const count = await t().ds.entries.count();
    const other = await t().sigil('token', 'generate', '--spiffe-id', 'spiffe://other.org/n');
    assert.equal(other.status, 1);
    assert.equal(other.stderr, 'Error: token: agent_id: trust domain "other.org" is not this server\'s trust domain "example.org"\n');
    const reserved = await t().sigil('token', 'generate', '--spiffe-id', 'spiffe://example.org/sigil/agent/x');
    assert.equal(reserved.stderr, "Error: token: agent_id: /sigil/… paths are reserved for sigil's own identities\n");
    assert.equal(await t().ds.entries.count(), count);
  });

  it('never writes the token into the log', async () => {
    const { value } = json<TokenJson>(ok(await t().sigil('token', 'generate', '--output', 'json')));
    const logged = JSON.stringify(t().logger.lines);
    assert.ok(!logged.includes(value));
    assert.ok(t().logger.at('info').some((m) => m === 'admin: created a join token valid for 600 s'));
  });
});
