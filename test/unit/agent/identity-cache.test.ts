import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { IdentityCache } from '../../../agent/cache/identity-cache.js';
import type { MintedSvid, SyncedEntry } from '../../../agent/cache/entry.js';
import { SelectorIndex } from '../../../agent/cache/selector-index.js';
import type { IdentitySnapshot, Selector } from '../../../agent/cache/workload-view.js';
import { silentLogger } from '../../../agent/logger.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { caTemplate, issueCertificate, softwareSigner } from '../../../spiffe/x509svid/index.js';

const UID = { type: 'unix', value: 'uid:1000' };
const GID = { type: 'unix', value: 'gid:50' };
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function entry(id: string, selectors: Selector[], over: Partial<SyncedEntry> = {}): SyncedEntry {
  return {
    id, spiffeId: `spiffe://example.org/${id}`, parentId: 'spiffe://example.org/sigil/agent/x', selectors, x509SvidTtl: 0, jwtSvidTtl: 0,
    dnsNames: [], federatesWith: [], hint: '', admin: false, downstream: false, revision: 0, createdAt: 100, ...over,
  };
}

function svid(e: SyncedEntry, expiresAt = Date.now() / 1000 + 3600): MintedSvid {
  return {
    entryId: e.id, revision: e.revision, spiffeId: e.spiffeId, certChainDer: Buffer.from(`cert-${e.id}-${Math.random()}`),
    privateKeyDer: Buffer.from(`key-${e.id}`), expiresAt, mintedAtMs: Date.now(),
  };
}

function newCache(maxHoldMs = 500): IdentityCache {
  return new IdentityCache({
    trustDomain: 'example.org',
    logger: silentLogger,
    jwt: { fetch: async () => ({ token: 't', expiresAt: 0 }), retain: () => undefined },
    health: () => ({ ready: true, live: true, detail: 'ok' }),
    maxHoldMs,
  });
}

/** An entry with its SVID, in the cache. */
function hold(cache: IdentityCache, ...entries: SyncedEntry[]): void {
  cache.applyEntries(entries, []);
  cache.putSvids(entries.map((e) => svid(e)));
}

describe('agent selector index', () => {
  it('matches entries whose selectors are a subset of the caller\'s', () => {
    const index = new SelectorIndex();
    index.set('a', [UID]);
    index.set('b', [UID, GID]);
    index.set('c', [GID, { type: 'k8s', value: 'ns:x' }]);
    index.set('d', [UID, UID]);
    assert.deepEqual(index.match(new Set(['unix:uid:1000'])).sort(), ['a', 'd']);
    assert.deepEqual(index.match(new Set(['unix:uid:1000', 'unix:gid:50'])).sort(), ['a', 'b', 'd']);
    assert.deepEqual(index.match(new Set(['unix:gid:50'])), []);
    index.delete('a');
    index.set('d', [GID]);
    assert.deepEqual(index.match(new Set(['unix:uid:1000', 'unix:gid:50'])).sort(), ['b', 'd']);
  });
});

describe('agent identity cache', () => {
  it('serves only minted, matching, unexpired identities, ordered and deduplicated by hint', async () => {
    const cache = newCache();
    const a = entry('a', [UID], { createdAt: 200 });
    const b = entry('b', [UID], { createdAt: 100, hint: 'h' });
    const c = entry('c', [UID], { createdAt: 150, hint: 'h' });
    const d = entry('d', [UID, GID]);
    const pending = entry('pending', [UID]);
    cache.applyEntries([a, b, c, d, pending], []);
    cache.putSvids([svid(a), svid(b), svid(c), svid(d), svid(entry('expired', [UID]), 1)]);
    cache.applyEntries([entry('expired', [UID])], []);
    cache.putSvids([svid(entry('expired', [UID]), 1)]);
    const s = cache.snapshot([UID]);
    assert.deepEqual(s.identities.map((i) => i.entryId), ['b', 'a']);
    assert.deepEqual(cache.snapshot([GID, UID]).identities.map((i) => i.entryId), ['b', 'd', 'a']);
    cache.close();
  });

  it('shares one snapshot object between callers with the same selector set', () => {
    const cache = newCache();
    hold(cache, entry('a', [UID]));
    const s1 = cache.snapshot([UID, GID]);
    const sub = cache.subscribe([GID, UID, UID], () => undefined);
    assert.equal(sub.snapshot, s1);
    assert.equal(cache.snapshot([GID, UID]), s1);
    sub.unsubscribe();
    cache.close();
  });

  it('coalesces a burst into one update per subscriber group', async () => {
    const cache = newCache();
    const seen: IdentitySnapshot[] = [];
    const other: IdentitySnapshot[] = [];
    cache.subscribe([UID], (s) => seen.push(s));
    cache.subscribe([UID], (s) => seen.push(s));
    cache.subscribe([{ type: 'unix', value: 'uid:1' }], (s) => other.push(s));
    for (let i = 0; i < 100; i++) hold(cache, entry(`e${i}`, [UID]));
    await turn();
    assert.equal(seen.length, 2, 'one update for each of the two subscribers');
    assert.equal(seen[0], seen[1], 'the same snapshot object');
    assert.equal(seen[0]!.identities.length, 100);
    assert.equal(other.length, 0, 'a caller the burst does not concern hears nothing');
    cache.close();
  });

  it('holds gains while minting, but never losses', async () => {
    const cache = newCache(10_000);
    const seen: number[] = [];
    hold(cache, entry('old', [UID]));
    cache.subscribe([UID], (s) => seen.push(s.identities.length));
    const release = cache.holdFlushes();
    hold(cache, entry('new1', [UID]));
    await turn();
    assert.deepEqual(seen, [], 'a new SVID waits for the burst to end');
    hold(cache, entry('new2', [UID]));
    release();
    await turn();
    assert.deepEqual(seen, [3], 'released: one update with both');

    const release2 = cache.holdFlushes();
    cache.applyEntries([], ['old']);
    await turn();
    assert.deepEqual(seen, [3, 2], 'a removal goes out at once, held or not');
    release2();
    cache.close();
  });

  it('stops serving an identity at once when its selectors no longer match', async () => {
    const cache = newCache(10_000);
    const e = entry('a', [UID]);
    hold(cache, e);
    const seen: number[] = [];
    cache.subscribe([UID], (s) => seen.push(s.identities.length));
    const release = cache.holdFlushes();
    cache.applyEntries([{ ...e, selectors: [GID], revision: 1 }], []);
    await turn();
    assert.deepEqual(seen, [0]);
    assert.equal(cache.snapshot([GID]).identities.length, 1, 'the old SVID serves the new selectors until re-minted');
    release();
    cache.close();
  });

  it('pushes nothing when a full set is resent unchanged', async () => {
    const cache = newCache();
    const [a, b] = [entry('a', [UID]), entry('b', [UID])];
    hold(cache, a, b);
    const seen: IdentitySnapshot[] = [];
    const sub = cache.subscribe([UID], (s) => seen.push(s));
    cache.replaceEntries([{ ...a }, { ...b }]);
    await turn();
    assert.deepEqual(seen, []);
    assert.equal(cache.snapshot([UID]), sub.snapshot);
    cache.close();
  });

  it('drops expired SVIDs and SVIDs of removed entries', async () => {
    const cache = newCache();
    const [a, b] = [entry('a', [UID]), entry('b', [UID])];
    hold(cache, a, b);
    cache.dropSvids(['a']);
    assert.deepEqual(cache.snapshot([UID]).identities.map((i) => i.entryId), ['b']);
    cache.replaceEntries([a]);
    assert.deepEqual(cache.snapshot([UID]).identities, []);
    assert.equal(cache.putSvids([svid(b)]), 0, 'an SVID for an entry removed meanwhile is not kept');
    cache.close();
  });

  it('pushes a bundle change to every subscriber and bundle listener', async () => {
    const cache = newCache();
    hold(cache, entry('a', [UID]));
    const seen: IdentitySnapshot[] = [];
    let bundleChanges = 0;
    cache.subscribe([UID], (s) => seen.push(s));
    cache.subscribe([GID], (s) => seen.push(s));
    cache.onBundlesChange(() => bundleChanges++);
    const bundle = await testBundle();
    cache.setBundle(bundle);
    cache.setBundle(bundle);
    await turn();
    assert.equal(seen.length, 2);
    assert.equal(bundleChanges, 1);
    assert.equal(seen[0]!.bundle, cache.bundles().own);
    assert.ok(cache.bundles().own.x509Der.equals(bundle.x509Authorities()[0]!.raw));
    assert.deepEqual(JSON.parse(cache.bundles().own.jwksJson.toString()), { keys: [] });
    cache.close();
  });

  it('refuses a JWT-SVID for an identity the cache does not hold', async () => {
    const cache = newCache();
    const e = entry('a', [UID]);
    hold(cache, e);
    const held = cache.snapshot([UID]).identities[0]!;
    assert.equal((await cache.fetchJwtSvid(held, ['x'])).token, 't');
    await assert.rejects(cache.fetchJwtSvid({ ...held, spiffeId: 'spiffe://example.org/other' }, ['x']), /no identity/);
    cache.applyEntries([], ['a']);
    await assert.rejects(cache.fetchJwtSvid(held, ['x']), /no identity/);
    cache.close();
  });
});

async function testBundle(): Promise<SpiffeBundle> {
  const td = TrustDomain.fromString('example.org');
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const now = new Date();
  const ca = await issueCertificate(
    caTemplate({ trustDomain: td, publicKey, notBefore: now, notAfter: new Date(now.getTime() + 3_600_000) }),
    softwareSigner(privateKey),
  );
  return new SpiffeBundle(td, { x509Authorities: [ca] });
}
