/** JWT-SVIDs through the cache: minted on demand, cached per SPIFFE ID + audience set. */
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { CacheError } from '../../../agent/cache/errors.js';
import { agentIdFor, entries, UID_SELECTOR, useFixtures, waitForSnapshot } from './harness.js';

describe('agent: JWT-SVIDs', function () {
  this.timeout(60_000);
  const f = useFixtures();

  it('reuses a token for the same audience set and mints one for another', async () => {
    const server = await f.server();
    const token = await server.token();
    await server.createEntries(entries(agentIdFor(token), 1, 'jwt'));
    const { agent } = await f.agent(server, { token });
    const identity = (await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 1)).identities[0]!;

    const ab = await agent.view.fetchJwtSvid(identity, ['b', 'a']);
    const claims = decodeJwt(ab.token);
    assert.equal(claims.sub, identity.spiffeId);
    assert.deepEqual([claims.aud].flat().sort(), ['a', 'b']);
    assert.equal((await agent.view.fetchJwtSvid(identity, ['a', 'b', 'a'])).token, ab.token, 'same audience set: cached');
    const c = await agent.view.fetchJwtSvid(identity, ['c']);
    assert.notEqual(c.token, ab.token);
    assert.deepEqual([decodeJwt(c.token).aud].flat(), ['c']);

    await assert.rejects(agent.view.fetchJwtSvid({ ...identity, entryId: 'not-held' }, ['a']), (err: unknown) => {
      assert.ok(err instanceof CacheError);
      assert.equal(err.status, 7);
      return true;
    });
  });
});
