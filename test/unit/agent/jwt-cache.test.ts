import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { JwtSvidCache, type JwtSvid } from '../../../agent/cache/jwt-cache.js';
import { CacheError } from '../../../agent/cache/errors.js';
import type { Identity } from '../../../agent/cache/workload-view.js';
import { silentLogger } from '../../../agent/logger.js';

const identity = (spiffeId: string, entryId = spiffeId): Identity => ({
  entryId, spiffeId, hint: '', createdAt: 0, selectors: [], federatesWith: [],
  certChainDer: Buffer.alloc(0), privateKeyDer: Buffer.alloc(0), expiresAt: 0,
});

function grpcError(code: number, details: string): Error {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });
}

describe('agent JWT-SVID cache', () => {
  let now = 1_000_000;
  let calls: { entryId: string; audience: string[] }[] = [];
  let fail: Error | undefined;
  const cache = (max?: number): JwtSvidCache =>
    new JwtSvidCache({
      logger: silentLogger,
      maxEntries: max,
      now: () => now,
      mint: async (entryId, audience): Promise<JwtSvid> => {
        calls.push({ entryId, audience });
        if (fail) throw fail;
        return { token: `${entryId}|${audience.join(',')}|${calls.length}`, expiresAt: now / 1000 + 100 };
      },
    });

  beforeEach(() => {
    now = 1_000_000;
    calls = [];
    fail = undefined;
  });

  it('reuses a token for the same audience set until half its life has passed', async () => {
    const c = cache();
    const a = await c.fetch(identity('s1'), ['b', 'a']);
    assert.equal((await c.fetch(identity('s1'), ['a', 'b', 'a'])).token, a.token);
    assert.notEqual((await c.fetch(identity('s1'), ['a'])).token, a.token, 'another audience set');
    assert.notEqual((await c.fetch(identity('s2'), ['a', 'b'])).token, a.token, 'another SPIFFE ID');
    assert.deepEqual(calls[0]!.audience, ['a', 'b'], 'sorted and deduplicated');
    now += 49_000;
    assert.equal((await c.fetch(identity('s1'), ['a', 'b'])).token, a.token);
    now += 2_000;
    assert.notEqual((await c.fetch(identity('s1'), ['a', 'b'])).token, a.token, 'refreshed past half-life');
  });

  it('shares one call between concurrent requests', async () => {
    const c = cache();
    const [x, y] = await Promise.all([c.fetch(identity('s'), ['a']), c.fetch(identity('s'), ['a'])]);
    assert.equal(x.token, y.token);
    assert.equal(calls.length, 1);
  });

  it('hands out a still-valid cached token when the server is unreachable, and fails without one', async () => {
    const c = cache();
    const a = await c.fetch(identity('s'), ['a']);
    now += 60_000;
    fail = grpcError(status.UNAVAILABLE, 'connection refused');
    assert.equal((await c.fetch(identity('s'), ['a'])).token, a.token);
    await assert.rejects(c.fetch(identity('s'), ['other']), (err: unknown) => err instanceof CacheError && err.status === status.UNAVAILABLE);
    now += 50_000;
    await assert.rejects(c.fetch(identity('s'), ['a']), /unreachable/, 'expired: nothing to hand out');
  });

  it("passes the server's refusal on", async () => {
    fail = grpcError(status.NOT_FOUND, 'no such entry');
    await assert.rejects(cache().fetch(identity('s'), ['a']), (err: unknown) => err instanceof CacheError && err.status === status.PERMISSION_DENIED);
  });

  it('keeps at most maxEntries tokens, and forgets identities no longer held', async () => {
    const c = cache(2);
    for (const aud of ['a', 'b', 'c']) await c.fetch(identity('s'), [aud]);
    assert.equal(c.size, 2);
    await c.fetch(identity('t'), ['a']);
    c.retain(new Set(['t']));
    assert.equal(c.size, 1);
  });
});
