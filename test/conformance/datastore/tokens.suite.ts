import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import { TD, nowSeconds, rejectsWith, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

export function tokensSuite(target: DatastoreTarget): void {
  describe('join tokens', () => {
    const t = useDatastore(target);

    it('create and consume round-trip every field; a second consume gets nothing', async () => {
      const token = { token: 'c2VjcmV0-1', expiresAt: 1_900_000_000, aliasSpiffeId: `${TD}/alias` };
      assert.deepEqual(await t.ds.joinTokens.create(token), token);
      await t.ds.joinTokens.create({ token: 'plain', expiresAt: 1, aliasSpiffeId: null });
      assert.deepEqual(await t.ds.joinTokens.consume('c2VjcmV0-1'), token);
      assert.equal(await t.ds.joinTokens.consume('c2VjcmV0-1'), undefined);
      assert.equal(await t.ds.joinTokens.consume('never-existed'), undefined);
      assert.deepEqual(await t.ds.joinTokens.consume('plain'), { token: 'plain', expiresAt: 1, aliasSpiffeId: null });
    });

    it('a token that exists already is ALREADY_EXISTS, without repeating the secret', async () => {
      await t.ds.joinTokens.create({ token: 's3cret', expiresAt: 1, aliasSpiffeId: null });
      const err = await rejectsWith(
        t.ds.joinTokens.create({ token: 's3cret', expiresAt: 2, aliasSpiffeId: null }),
        Code.alreadyExists,
        Status.ALREADY_EXISTS,
        'datastore: a join token with that value already exists',
      );
      assert.doesNotMatch(err.message, /s3cret/);
    });

    it('20 concurrent consumes through two datastores: exactly one wins', async () => {
      const other = await t.open();
      for (let round = 0; round < 3; round++) {
        const token = `once-${round}`;
        await t.ds.joinTokens.create({ token, expiresAt: 1_900_000_000, aliasSpiffeId: null });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? other : t.ds).joinTokens.consume(token)));
        assert.equal(results.filter((r) => r !== undefined).length, 1, `round ${round}`);
      }
    });

    it('pruneExpired removes only tokens that expired before now', async () => {
      const now = nowSeconds();
      for (const [token, expiresAt] of [['old', now - 1], ['edge', now], ['new', now + 60]] as const) {
        await t.ds.joinTokens.create({ token, expiresAt, aliasSpiffeId: null });
      }
      assert.equal(await t.ds.joinTokens.pruneExpired(now), 1);
      assert.equal(await t.ds.joinTokens.consume('old'), undefined);
      assert.notEqual(await t.ds.joinTokens.consume('edge'), undefined);
      assert.notEqual(await t.ds.joinTokens.consume('new'), undefined);
      assert.equal(await t.ds.joinTokens.pruneExpired(now), 0);
    });

    it('tokens are not change events', async () => {
      await t.ds.joinTokens.create({ token: 'quiet', expiresAt: 1, aliasSpiffeId: null });
      await t.ds.joinTokens.consume('quiet');
      assert.equal(await t.ds.events.latestId(), 0);
    });
  });
}
