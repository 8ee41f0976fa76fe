/**
 * MintX509SVIDs and MintJWTSVID over real gRPC: inside the agent's subtree, outside it, bad CSRs,
 * large batches, and the batch bound.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { opensslVerify } from '../../fakes/ca-harness.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { parseAndVerifyX509Svid } from '../../../spiffe/x509svid/index.js';
import fc from 'fast-check';
import { csrsForOneKey, newKeyAndCsr } from '../../support/agent-client.js';
import { AGENTS, graphArb, reference } from '../../unit/server/authz-fixtures.test.js';
import { attestAgent, certOf, entry, sqliteUrls, startServer, TD, type TestAgent, type TestServer } from './harness.js';

describe('agent API: minting', function () {
  const urls = sqliteUrls();
  let server: TestServer;
  let agent: TestAgent;
  let other: TestAgent;
  let dir: string;

  before(async () => {
    server = await startServer(urls.next());
    agent = await attestAgent(server);
    other = await attestAgent(server);
    dir = mkdtempSync(join(tmpdir(), 'sigil-mint-'));
  });
  after(async () => {
    agent.close();
    other.close();
    await server.stop();
    urls.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints X.509-SVIDs for entries in the subtree, with their TTL and DNS names; refuses the rest, in order', async () => {
    const [mine, nested, theirs] = await server.ds.entries.create([
      entry('/mine', agent.agentId, { x509SvidTtl: 600, dnsNames: ['mine.example.org', 'alt.example.org'] }),
      entry('/mine/nested', 'spiffe://example.org/mine'),
      entry('/theirs', other.agentId),
    ]);
    const { csr } = await newKeyAndCsr();
    const tampered = Buffer.from(csr);
    tampered[tampered.length - 3]! ^= 0x55;
    const res = await agent.client.mintX509([
      { entry_id: theirs!.id, csr },
      { entry_id: mine!.id, csr },
      { entry_id: 'no-such-entry', csr },
      { entry_id: nested!.id, csr },
      { entry_id: mine!.id, csr: tampered },
      { entry_id: '', csr },
    ]);
    const codes = res.results.map((r) => r.error?.code ?? 0);
    assert.deepEqual(codes, [GrpcStatus.PERMISSION_DENIED, 0, GrpcStatus.PERMISSION_DENIED, 0, GrpcStatus.INVALID_ARGUMENT, GrpcStatus.INVALID_ARGUMENT]);
    assert.deepEqual(res.results.map((r) => r.entry_id), [theirs!.id, mine!.id, 'no-such-entry', nested!.id, mine!.id, '']);
    assert.equal(res.results[0]!.error!.message, `agentapi: entry "${theirs!.id}" is not authorized for this agent`);
    assert.deepEqual(res.results[0]!.svid_chain, []);

    const bundle = SpiffeBundle.parse(TD, agent.bundleJson);
    const svid = parseAndVerifyX509Svid(res.results[1]!.svid_chain, bundle);
    assert.equal(svid.id.toString(), 'spiffe://example.org/mine');
    const leaf = certOf(res.results[1]!.svid_chain[0]!);
    assert.equal(leaf.subjectAltName, 'URI:spiffe://example.org/mine, DNS:mine.example.org, DNS:alt.example.org');
    const ttl = (new Date(leaf.validTo).getTime() - Date.now()) / 1000;
    assert.ok(ttl > 590 && ttl <= 600, `entry TTL honoured (${ttl})`);
    assert.equal(Number(res.results[1]!.expires_at), Math.floor(new Date(leaf.validTo).getTime() / 1000));
    const openssl = opensslVerify(dir, { roots: bundle.x509Authorities(), leaf });
    assert.equal(openssl.status, 0, openssl.output);
    assert.equal(parseAndVerifyX509Svid(res.results[3]!.svid_chain, bundle).id.toString(), 'spiffe://example.org/mine/nested');

    const warned = server.logger.at('warn').find((l) => l.message === 'agentapi: refused X.509-SVIDs for entries the agent is not authorized for');
    assert.deepEqual(warned?.fields['entryIds'], [theirs!.id, 'no-such-entry']);
    assert.equal(warned?.fields['agentId'], agent.agentId);
  });

  it('signs a batch of 500 CSRs in one call', async () => {
    const entries = await server.ds.entries.create(Array.from({ length: 500 }, (_, i) => entry(`/batch/${i}`, agent.agentId)));
    const csrs = await csrsForOneKey(500);
    const t0 = Date.now();
    const res = await agent.client.mintX509(entries.map((e, i) => ({ entry_id: e.id, csr: csrs[i]! })));
    const ms = Date.now() - t0;
    console.log(`      MintX509SVIDs: 500 CSRs in one call took ${ms} ms`);
    assert.equal(res.results.length, 500);
    assert.ok(res.results.every((r) => r.error === null && r.svid_chain.length === 1));
    const bundle = SpiffeBundle.parse(TD, agent.bundleJson);
    for (const [i, r] of res.results.entries()) {
      assert.equal(parseAndVerifyX509Svid(r.svid_chain, bundle).id.toString(), `spiffe://example.org/batch/${i}`);
    }
  });

  it('refuses more than 1,000 CSRs in one call', async () => {
    const { csr } = await newKeyAndCsr();
    await assert.rejects(
      agent.client.mintX509(Array.from({ length: 1001 }, () => ({ entry_id: 'x', csr }))),
      (err: ServiceError) => {
        assert.equal(err.code, GrpcStatus.RESOURCE_EXHAUSTED);
        assert.equal(err.details, 'agentapi: 1001 CSRs in one call is more than the 1000 allowed: split the batch');
        return true;
      },
    );
  });

  it('mints JWT-SVIDs that spiffe/ validates, only for authorized entries', async () => {
    const [mine, theirs] = await server.ds.entries.create([
      entry('/jwt/mine', agent.agentId, { jwtSvidTtl: 120 }),
      entry('/jwt/theirs', other.agentId),
    ]);
    const res = await agent.client.mintJwt(mine!.id, ['api.example.org', 'other']);
    const bundle = await server.ca.bundle();
    const jwt = await parseAndValidate(res.token, bundle, ['api.example.org']);
    assert.equal(jwt.id.toString(), 'spiffe://example.org/jwt/mine');
    assert.equal(res.spiffe_id, 'spiffe://example.org/jwt/mine');
    assert.ok(Number(res.expires_at) - Date.now() / 1000 <= 120);
    await assert.rejects(agent.client.mintJwt(theirs!.id, ['api']), (err: ServiceError) => err.code === GrpcStatus.PERMISSION_DENIED);
    await assert.rejects(agent.client.mintJwt(mine!.id, []), (err: ServiceError) => err.code === GrpcStatus.INVALID_ARGUMENT);
  });

  it('over real gRPC, on random graphs, mints exactly the entries the agent is authorized for', async () => {
    const third = await attestAgent(server);
    const real = [agent, other, third];
    const { csr } = await newKeyAndCsr();
    const swap = (id: string): string => {
      const i = AGENTS.indexOf(id);
      return i < 0 ? id : real[i]!.agentId;
    };
    try {
      await fc.assert(
        fc.asyncProperty(graphArb, async (g) => {
          const seen = new Set<string>();
          const shapes = g.entries
            .map((e) => ({ ...e, spiffeId: swap(e.spiffeId), parentId: swap(e.parentId) }))
            .filter((e) => {
              const key = JSON.stringify([e.spiffeId, e.parentId, e.selectors]);
              return !seen.has(key) && seen.add(key);
            });
          const created = await server.ds.entries.create(shapes.map((e) => entry('/x', e.parentId, { spiffeId: e.spiffeId, selectors: e.selectors })));
          for (const [i, a] of g.agents.entries()) await server.ds.agents.setSelectors(real[i]!.agentId, a.selectors);
          try {
            // Earlier tests left entries under this agent: the rule applies to everything stored.
            const allowed = reference((await server.ds.entries.list()).items, agent.agentId, g.agents[0]!.selectors);
            // The server's view is pushed, not read per call: wait until the agent's stream shows it.
            const sync = agent.client.sync();
            const held = new Set<string>();
            await sync.until('the reference set', () => {
              for (const m of sync.messages.splice(0)) {
                if ('full' in m) {
                  held.clear();
                  for (const e of m.full.entries) held.add(e.id);
                } else {
                  for (const id of m.update.removed_ids) held.delete(id);
                  for (const e of m.update.upserted) held.add(e.id);
                }
              }
              return held.size === allowed.size && [...allowed].every((id) => held.has(id));
            });
            sync.cancel();
            const res = await agent.client.mintX509([...created.map((e) => ({ entry_id: e.id, csr })), { entry_id: 'nope', csr }]);
            res.results.forEach((r, i) => {
              const e = created[i];
              const ok = e !== undefined && allowed.has(e.id) && !e.spiffeId.startsWith('spiffe://example.org/sigil/');
              assert.equal(r.error?.code ?? 0, ok ? 0 : GrpcStatus.PERMISSION_DENIED, `entry ${e?.spiffeId ?? 'nope'} under ${e?.parentId}`);
            });
          } finally {
            await server.ds.entries.delete(created.map((e) => e.id));
          }
        }),
        { numRuns: 8 },
      );
    } finally {
      third.close();
    }
  });
});
