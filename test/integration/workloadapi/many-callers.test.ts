/**
 * A thousand callers at once on already-open connections: the load that wedged SPIRE's agent
 * (spire-measured.md). Every stream gets its first response, the health check answers while they
 * are open, an update reaches all of them with one encoding, and closing them leaves nothing behind.
 */
import assert from 'node:assert/strict';
import type { X509SvidResponseMsg } from '../../../agent/workloadapi/messages.js';
import { startHarness, type Harness } from './harness.js';
import { StreamRecorder, TestWorkloadClient } from './workload-client.js';

const CALLERS = 1000;
const ME = `unix:uid:${process.getuid?.() ?? 0}`;

describe('workload api: 1,000 concurrent streams', function () {
  this.timeout(120_000);
  let h: Harness;
  let clients: TestWorkloadClient[] = [];
  before(async () => {
    h = await startHarness();
    h.view.addIdentity(await h.authority.issue('/many', [ME]));
    clients = Array.from({ length: CALLERS }, () => new TestWorkloadClient(h.socketPath));
    // Open every connection first, as in the SPIRE measurement ("on already-open connections").
    await Promise.all(clients.map((c) => c.health()));
  });
  after(async () => {
    for (const c of clients) c.close();
    await h.close();
  });

  it('answers every stream, keeps the health check answering, and pushes one shared update to all', async () => {
    assert.equal(h.server.connections, CALLERS);
    const t0 = performance.now();
    const recs = clients.map((c) => new StreamRecorder(c.stream<X509SvidResponseMsg>('FetchX509SVID')));
    const health = new TestWorkloadClient(h.socketPath);
    try {
      const [healthStatus] = await Promise.all([health.health('', 10_000), ...recs.map((r) => r.messageCount(1, 60_000))]);
      const elapsed = performance.now() - t0;
      assert.equal(healthStatus.status, 'SERVING');
      assert.ok(recs.every((r) => r.messages[0]?.svids[0]?.spiffe_id === 'spiffe://example.org/many'));
      assert.equal(h.view.subscriberCount, CALLERS);
      const encodingsBefore = h.server.responses.encodings;
      h.view.addIdentity(await h.authority.issue('/more', [ME], { createdAt: Number.MAX_SAFE_INTEGER }));
      await Promise.all(recs.map((r) => r.messageCount(2, 60_000)));
      assert.ok(recs.every((r) => r.messages[1]?.svids.length === 2));
      assert.equal(h.server.responses.encodings - encodingsBefore, 1);
      assert.equal((await health.health('', 10_000)).status, 'SERVING');
      process.stdout.write(`      (first responses of ${CALLERS} streams within ${elapsed.toFixed(0)} ms)\n`);
    } finally {
      health.close();
      for (const r of recs) r.call.cancel();
    }
    await waitFor(() => h.view.subscriberCount === 0);
  });
});

async function waitFor(pred: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
