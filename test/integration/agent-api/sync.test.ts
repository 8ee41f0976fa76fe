/**
 * SyncEntries and WatchBundle over real gRPC: the full set, pushed updates (with their latency),
 * resume, removals, node aliases, coalescing, and streams closed by ban and eviction.
 */
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { ServerCa } from '../../../server/ca/index.js';
import type { SyncEntriesResponse } from '../../../server/api/agent/messages.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import type { Collected } from '../../support/agent-client.js';
import { attestAgent, entry, SERVER_ID, sqliteUrls, startServer, TD, type TestAgent, type TestServer } from './harness.js';

type Sync = Collected<SyncEntriesResponse & { kind: 'full' | 'update' }>;

const full = (m: SyncEntriesResponse) => ('full' in m ? m.full : assert.fail(`expected a full set, got ${JSON.stringify(m)}`));
const update = (m: SyncEntriesResponse) => ('update' in m ? m.update : assert.fail(`expected an update, got ${JSON.stringify(m)}`));

async function next(sync: Sync, count: number): Promise<SyncEntriesResponse> {
  await sync.until(`message ${count}`, () => sync.messages.length >= count || sync.error !== undefined);
  if (sync.error) assert.fail(`stream failed: ${sync.error.message}`);
  return sync.messages[count - 1]!;
}

describe('agent API: SyncEntries and WatchBundle', function () {
  const urls = sqliteUrls();
  let server: TestServer;
  let agent: TestAgent;

  before(async () => {
    server = await startServer(urls.next());
  });
  beforeEach(async () => {
    agent = await attestAgent(server);
  });
  afterEach(() => agent.close());
  after(async () => {
    await server.stop();
    urls.cleanup();
  });

  it('sends the full set, then pushes a created entry within a short bound', async () => {
    const [existing] = await server.ds.entries.create([entry('/a', agent.agentId)]);
    const sync = agent.client.sync();
    const first = full(await next(sync, 1));
    assert.deepEqual(first.entries.map((e) => e.id), [existing!.id]);
    assert.equal(first.more, false);
    assert.equal(first.entries[0]!.spiffe_id, 'spiffe://example.org/a');
    assert.equal(first.entries[0]!.parent_id, agent.agentId);

    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = process.hrtime.bigint();
      const [created] = await server.ds.entries.create([
        entry(`/pushed/${i}`, agent.agentId, { dnsNames: ['web.example.org'], x509SvidTtl: 600, jwtSvidTtl: 60, hint: 'h', federatesWith: [] }),
      ]);
      const u = update(await next(sync, 2 + i));
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      assert.deepEqual(u.upserted.map((e) => e.id), [created!.id]);
      assert.deepEqual(u.upserted[0]!.dns_names, ['web.example.org']);
      assert.equal(u.upserted[0]!.x509_svid_ttl, 600);
      assert.equal(u.upserted[0]!.jwt_svid_ttl, 60);
      assert.deepEqual(u.removed_ids, []);
      assert.ok(Number(u.event_id) > Number(first.event_id));
    }
    latencies.sort((a, b) => a - b);
    const p50 = latencies[Math.floor(latencies.length / 2)]!;
    const max = latencies[latencies.length - 1]!;
    console.log(`      push latency (SQLite, create → agent stream, n=20): p50 ${p50.toFixed(1)} ms, max ${max.toFixed(1)} ms`);
    assert.ok(max < 250, `every push within 250 ms (max ${max.toFixed(1)} ms)`);
    sync.cancel();
  });

  it('pushes updates and removals, and descendants of descendants', async () => {
    const [parent] = await server.ds.entries.create([entry('/parent', agent.agentId)]);
    const sync = agent.client.sync();
    await next(sync, 1);
    const [child] = await server.ds.entries.create([entry('/child', 'spiffe://example.org/parent')]);
    assert.deepEqual(update(await next(sync, 2)).upserted.map((e) => e.id), [child!.id]);
    const changed = await server.ds.entries.update(child!.id, { hint: 'new' });
    const u = update(await next(sync, 3));
    assert.equal(u.upserted[0]!.hint, 'new');
    assert.equal(Number(u.upserted[0]!.revision), changed.revision);
    await server.ds.entries.delete([parent!.id]);
    const removal = update(await next(sync, 4));
    assert.deepEqual(removal.removed_ids.sort(), [parent!.id, child!.id].sort(), 'the orphaned child goes with its parent');
    sync.cancel();
  });

  it('resumes with an event id: only the difference, not the full set', async () => {
    const [a, b] = await server.ds.entries.create([entry('/r/a', agent.agentId), entry('/r/b', agent.agentId)]);
    const first = agent.client.sync();
    const eventId = Number(full(await next(first, 1)).event_id);
    first.cancel();
    await first.until('cancelled', () => first.error !== undefined);
    const [c] = await server.ds.entries.create([entry('/r/c', agent.agentId)]);
    await server.ds.entries.delete([a!.id]);

    const resumed = agent.client.sync(eventId);
    const diff = update(await next(resumed, 1));
    assert.deepEqual(diff.upserted.map((e) => e.id), [c!.id]);
    assert.deepEqual(diff.removed_ids, [a!.id]);
    assert.ok(Number(diff.event_id) > eventId);
    resumed.cancel();

    const unknown = agent.client.sync(1);
    const all = full(await next(unknown, 1));
    assert.deepEqual(all.entries.map((e) => e.id).sort(), [b!.id, c!.id].sort(), 'an id from before this server knew the agent gets the full set');
    unknown.cancel();
  });

  it('grants alias entries by node selectors, and takes them away', async () => {
    const [alias] = await server.ds.entries.create([
      entry('/cluster/prod', SERVER_ID, { selectors: [{ type: 'tpm', value: 'pcr:ok' }, { type: 'tpm', value: 'zone:a' }] }),
    ]);
    const [workload] = await server.ds.entries.create([entry('/prod/web', 'spiffe://example.org/cluster/prod')]);
    const sync = agent.client.sync();
    assert.deepEqual(full(await next(sync, 1)).entries, []);
    await server.ds.agents.setSelectors(agent.agentId, [{ type: 'tpm', value: 'pcr:ok' }]);
    await server.ds.agents.setSelectors(agent.agentId, [{ type: 'tpm', value: 'pcr:ok' }, { type: 'tpm', value: 'zone:a' }, { type: 'tpm', value: 'x' }]);
    const granted = update(await next(sync, 2));
    assert.deepEqual(granted.upserted.map((e) => e.id), [workload!.id], 'the workload, not the alias entry itself');
    await server.ds.entries.update(alias!.id, { selectors: [{ type: 'tpm', value: 'zone:b' }] });
    assert.deepEqual(update(await next(sync, 3)).removed_ids, [workload!.id]);
    sync.cancel();
  });

  it('coalesces a burst: 300 entries in one transaction arrive as one update', async () => {
    const sync = agent.client.sync();
    await next(sync, 1);
    const created = await server.ds.entries.create(Array.from({ length: 300 }, (_, i) => entry(`/burst/${i}`, agent.agentId)));
    const u = update(await next(sync, 2));
    assert.equal(u.upserted.length, 300);
    assert.deepEqual(new Set(u.upserted.map((e) => e.id)), new Set(created.map((e) => e.id)));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(sync.messages.length, 2);
    sync.cancel();
  });

  it('pages a large full set', async () => {
    await server.ds.entries.create(Array.from({ length: 2500 }, (_, i) => entry(`/big/${i}`, agent.agentId)));
    const sync = agent.client.sync();
    await next(sync, 3);
    const pages = sync.messages.map(full);
    assert.deepEqual(pages.map((p) => p.entries.length), [1000, 1000, 500]);
    assert.deepEqual(pages.map((p) => p.more), [true, true, false]);
    sync.cancel();
  });

  it('closes open streams of a banned agent at once, and refuses new ones', async () => {
    const sync = agent.client.sync();
    const bundles = agent.client.watchBundle();
    await next(sync, 1);
    await bundles.until('bundle', () => bundles.messages.length === 1);
    await server.ds.agents.ban(agent.agentId);
    await sync.until('closed', () => sync.error !== undefined);
    await bundles.until('closed', () => bundles.error !== undefined);
    for (const s of [sync, bundles]) {
      assert.equal(s.error!.code, GrpcStatus.PERMISSION_DENIED);
      assert.equal(s.error!.details, 'agentapi: agent is banned');
      assert.deepEqual(s.error!.metadata.get('sigil-reason'), ['AGENT_BANNED']);
    }
    const again = agent.client.sync();
    await again.until('refused', () => again.error !== undefined);
    assert.equal(again.error!.code, GrpcStatus.PERMISSION_DENIED);
  });

  it('closes open streams of an evicted agent at once, and refuses new ones', async () => {
    const sync = agent.client.sync();
    await next(sync, 1);
    await server.ds.agents.delete(agent.agentId);
    await sync.until('closed', () => sync.error !== undefined);
    assert.equal(sync.error!.code, GrpcStatus.PERMISSION_DENIED);
    assert.equal(sync.error!.details, 'agentapi: agent not attested: it was evicted');
    assert.deepEqual(sync.error!.metadata.get('sigil-reason'), ['AGENT_NOT_ATTESTED']);
    const again = agent.client.sync();
    await again.until('refused', () => again.error !== undefined);
    assert.equal(again.error!.details, 'agentapi: agent not attested');
  });

  it('WatchBundle sends the bundle, then each new one', async () => {
    const watch = agent.client.watchBundle();
    await watch.until('first', () => watch.messages.length === 1);
    const first = SpiffeBundle.parse(TD, watch.messages[0]!.bundle);
    assert.equal(first.x509Authorities().length, 1);
    assert.equal(watch.messages[0]!.sequence, String(first.sequenceNumber));
    // Another server's CA joining the trust domain publishes its authorities into the bundle.
    const other = await ServerCa.start({
      trustDomain: TD, keyManager: new MemoryKeyManager(), bundles: server.ds.bundles, journals: server.ds.caJournals, serverInstanceId: 'joiner',
    });
    await watch.until('second', () => watch.messages.length === 2);
    const second = SpiffeBundle.parse(TD, watch.messages[1]!.bundle);
    assert.equal(second.x509Authorities().length, 2);
    assert.ok(second.hasX509Authority((await other.x509Authorities()).find((c) => !first.hasX509Authority(c))!));
    assert.ok(BigInt(watch.messages[1]!.sequence) > BigInt(watch.messages[0]!.sequence));
    watch.cancel();
  });
});
