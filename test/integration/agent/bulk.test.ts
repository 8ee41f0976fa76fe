/**
 * Bulk issuance and coalescing: 1,000 entries for one caller become 1,000 SVIDs in the cache
 * (timed, against SPIRE's 5.4–7.7 s and sigil's aim of < 1 s), and a burst reaches a subscriber as
 * a few full sets, not one per SVID or per batch.
 */
import assert from 'node:assert/strict';
import type { IdentitySnapshot } from '../../../agent/cache/workload-view.js';
import { agentIdFor, entries, UID_SELECTOR, until, useFixtures, waitForSnapshot } from './harness.js';

describe('agent: bulk issuance', function () {
  this.timeout(120_000);
  const f = useFixtures();

  it('takes 1,000 pushed entries to 1,000 cached SVIDs, delivered in a few snapshots', async () => {
    const server = await f.server();
    const token = await server.token();
    const { agent } = await f.agent(server, { token });
    await until('synced', () => agent.health().ready);
    const seen: IdentitySnapshot[] = [];
    const sub = agent.view.subscribe([UID_SELECTOR], (s) => seen.push(s));

    const t0 = performance.now();
    await server.createEntries(entries(agentIdFor(token), 1000));
    const created = performance.now() - t0;
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1000, 30_000, '1,000 SVIDs');
    const total = performance.now() - t0;
    sub.unsubscribe();
    process.stdout.write(
      `      1,000 entries → 1,000 SVIDs in the cache: ${total.toFixed(0)} ms (admin create ${created.toFixed(0)} ms), ` +
        `${seen.length} snapshots to the subscriber (sizes ${seen.map((s) => s.identities.length).join(', ')})\n`,
    );
    assert.equal(agent.cache.identityCount, 1000);
    assert.ok(seen.length <= 4, `a burst gives a few snapshots, not ${seen.length}`);
  });

  it('mints the full set of 1,000 entries it finds at start', async () => {
    const server = await f.server();
    const token = await server.token();
    await server.createEntries(entries(agentIdFor(token), 1000));
    const t0 = performance.now();
    const { agent } = await f.agent(server, { token });
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1000, 30_000, '1,000 SVIDs');
    process.stdout.write(`      agent start (attest + full sync) → 1,000 SVIDs: ${(performance.now() - t0).toFixed(0)} ms\n`);
  });

  it('coalesces a burst of 500 entries into at most 3 snapshots', async () => {
    const server = await f.server();
    const token = await server.token();
    const { agent } = await f.agent(server, { token });
    await until('synced', () => agent.health().ready);
    const seen: number[] = [];
    const sub = agent.view.subscribe([UID_SELECTOR], (s) => seen.push(s.identities.length));
    // Five admin calls in a row: the server pushes several updates, the agent mints several batches.
    for (let i = 0; i < 5; i++) await server.createEntries(entries(agentIdFor(token), 100, `b${i}`));
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 500, 30_000, '500 SVIDs');
    sub.unsubscribe();
    process.stdout.write(`      burst of 500 entries (5 calls): ${seen.length} snapshots (sizes ${seen.join(', ')})\n`);
    assert.ok(seen.length <= 3, `expected at most 3 snapshots, got ${seen.length}: ${seen.join(', ')}`);
  });
});
