/**
 * Two servers on one PostgreSQL schema, each with its own CA: a change made through server A's
 * datastore reaches an agent connected to server B by push (LISTEN/NOTIFY; polling is off), a ban
 * made through A closes the agent's stream on B, and either server accepts the agent's SVID.
 */
import assert from 'node:assert/strict';
import { status as GrpcStatus } from '@grpc/grpc-js';
import type { SyncEntriesResponse } from '../../../server/api/agent/messages.js';
import { newKeyAndCsr } from '../../support/agent-client.js';
import { attestAgent, clientFor, entry, postgresSchema, startServer, type TestAgent, type TestServer } from './harness.js';

describe('agent API: two servers sharing PostgreSQL', function () {
  const schema = postgresSchema();
  let a: TestServer;
  let b: TestServer;
  let agent: TestAgent;

  before(async () => {
    a = await startServer(schema.url, { instanceId: 'server-a' });
    b = await startServer(schema.url, { instanceId: 'server-b' });
    agent = await attestAgent(b);
  });
  after(async () => {
    agent?.close();
    await b?.stop();
    await a?.stop();
    await schema.drop();
  });

  it('pushes an entry created through server A to an agent streaming from server B', async () => {
    const sync = agent.client.sync();
    await sync.until('full set', () => sync.messages.length === 1);
    const latencies: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = process.hrtime.bigint();
      const [created] = await a.ds.entries.create([entry(`/ha/${i}`, agent.agentId)]);
      await sync.until(`entry ${i} pushed`, () => sync.messages.length === 2 + i);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const m = sync.messages[1 + i]! as SyncEntriesResponse;
      assert.ok('update' in m);
      assert.deepEqual(m.update.upserted.map((e) => e.id), [created!.id]);
    }
    latencies.sort((x, y) => x - y);
    console.log(
      `      push latency (PostgreSQL, create on A → agent on B, n=10): p50 ${latencies[5]!.toFixed(1)} ms, max ${latencies[9]!.toFixed(1)} ms`,
    );
    assert.ok(latencies[9]! < 250, `every push within 250 ms (max ${latencies[9]!.toFixed(1)} ms)`);
    sync.cancel();
  });

  it('accepts the agent\'s SVID (issued by B\'s CA) on server A too', async () => {
    const onA = await clientFor(a, agent.svid);
    try {
      const [e] = await a.ds.entries.create([entry('/ha/mint', agent.agentId)]);
      const { csr } = await newKeyAndCsr();
      // A learns B's entries and CA through the shared database.
      let res = await onA.mintX509([{ entry_id: e!.id, csr }]);
      for (let i = 0; i < 50 && res.results[0]!.error !== null; i++) {
        await new Promise((r) => setTimeout(r, 20));
        res = await onA.mintX509([{ entry_id: e!.id, csr }]);
      }
      assert.equal(res.results[0]!.error, null, res.results[0]!.error?.message);
    } finally {
      onA.close();
    }
  });

  it('closes the agent\'s stream on B when it is banned through A', async () => {
    const sync = agent.client.sync();
    await sync.until('full set', () => sync.messages.length >= 1);
    await a.ds.agents.ban(agent.agentId);
    await sync.until('closed', () => sync.error !== undefined);
    assert.equal(sync.error!.code, GrpcStatus.PERMISSION_DENIED);
    assert.equal(sync.error!.details, 'agentapi: agent is banned');
  });
});
