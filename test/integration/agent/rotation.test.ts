/**
 * Rotation: workload SVIDs with a TTL of a few seconds are replaced at half-life, before they
 * expire, and reach subscribers; the agent's own SVID is renewed at half-life through Renew, and
 * the agent keeps working on the renewed one after the first has expired.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Identity } from '../../../agent/cache/workload-view.js';
import { agentIdFor, entries, UID_SELECTOR, until, useFixtures, waitForSnapshot } from './harness.js';

describe('agent: rotation', function () {
  this.timeout(60_000);
  const f = useFixtures();

  it('delivers a new workload SVID before the old one expires', async () => {
    const server = await f.server();
    const token = await server.token();
    await server.createEntries(entries(agentIdFor(token), 1, 'short', { x509_svid_ttl: 4 }));
    const { agent } = await f.agent(server, { token });
    const first = (await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1)).identities[0]!;
    const updates: { at: number; identity: Identity }[] = [];
    const sub = agent.view.subscribe([UID_SELECTOR], (s) => {
      if (s.identities[0] !== undefined) updates.push({ at: Date.now() / 1000, identity: s.identities[0] });
    });
    await until('two rotations', () => new Set(updates.map((u) => u.identity.expiresAt)).size >= 2, 15_000);
    sub.unsubscribe();
    const next = updates.find((u) => !u.identity.certChainDer.equals(first.certChainDer))!;
    assert.ok(next.at < first.expiresAt, `rotated at ${next.at}, the old SVID expires at ${first.expiresAt}`);
    assert.ok(next.identity.expiresAt > first.expiresAt);
    assert.ok(!next.identity.privateKeyDer.equals(first.privateKeyDer), 'a new key each time');
  });

  it("renews the agent's own SVID at half-life and keeps working after the first one expired", async () => {
    const server = await f.server({ agentTtl: '6s' });
    const token = await server.token();
    const { agent, logger, dataDir } = await f.agent(server, { token });
    const stored = (): string => (JSON.parse(readFileSync(join(dataDir, 'agent-svid.json'), 'utf8')) as { svidChain: string[] }).svidChain[0]!;
    const initial = stored();
    await until('renewed', () => logger.messages('info').includes('agent: renewed the agent SVID'), 10_000);
    assert.notEqual(stored(), initial, 'the renewed SVID is persisted');
    // Past the first SVID's expiry: new calls must be made with the renewed one.
    await new Promise((r) => setTimeout(r, 4000));
    await server.createEntries(entries(agentIdFor(token), 1, 'after-renewal'));
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1, 10_000, 'an entry created after renewal');
    assert.ok(logger.messages('info').filter((m) => m === 'agent: renewed the agent SVID').length >= 2, 'renewed again at the next half-life');
    assert.equal(agent.fatalError, undefined);
  });
});
