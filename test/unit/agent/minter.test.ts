import assert from 'node:assert/strict';
import { Metadata, status } from '@grpc/grpc-js';
import { IdentityCache } from '../../../agent/cache/identity-cache.js';
import type { SyncedEntry } from '../../../agent/cache/entry.js';
import type { X509SvidRequest } from '../../../agent/client/api.js';
import type { MintX509SvidsResponseMessage } from '../../../agent/client/messages.js';
import { silentLogger } from '../../../agent/logger.js';
import { SvidMinter } from '../../../agent/svid/minter.js';

const UID = { type: 'unix', value: 'uid:1' };

function entry(id: string, revision = 0): SyncedEntry {
  return {
    id, spiffeId: `spiffe://example.org/${id}`, parentId: 'p', selectors: [UID], x509SvidTtl: 0, jwtSvidTtl: 0, dnsNames: [],
    federatesWith: [], hint: '', admin: false, downstream: false, revision, createdAt: 0,
  };
}

async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Harness {
  cache: IdentityCache;
  minter: SvidMinter;
  calls: X509SvidRequest[][];
  results: unknown[];
  /** Seconds each minted SVID lives. */
  ttl: { seconds: number };
  behave: { fail?: Error; refuse?: Set<string> };
  add(...entries: SyncedEntry[]): void;
  close(): void;
}

function harness(o: { batchSize?: number; maxInFlight?: number } = {}): Harness {
  const cache = new IdentityCache({
    trustDomain: 'example.org',
    logger: silentLogger,
    jwt: { fetch: async () => ({ token: '', expiresAt: 0 }), retain: () => undefined },
    health: () => ({ ready: true, live: true, detail: '' }),
  });
  const calls: X509SvidRequest[][] = [];
  const results: unknown[] = [];
  const ttl = { seconds: 3600 };
  const behave: Harness['behave'] = {};
  const minter = new SvidMinter({
    cache,
    keyType: 'ec-p256',
    logger: silentLogger,
    batchSize: o.batchSize,
    maxInFlight: o.maxInFlight,
    onCallResult: (err) => results.push(err),
    mint: async (requests): Promise<MintX509SvidsResponseMessage> => {
      calls.push(requests);
      await new Promise((r) => setTimeout(r, 5));
      if (behave.fail) throw behave.fail;
      const expires = String(Math.floor(Date.now() / 1000 + ttl.seconds));
      return {
        results: requests.map((r) =>
          behave.refuse?.has(r.entry_id)
            ? { entry_id: r.entry_id, svid_chain: [], expires_at: '0', error: { code: status.NOT_FOUND, message: 'gone' } }
            : { entry_id: r.entry_id, svid_chain: [Buffer.from(`cert-${r.entry_id}-${calls.length}`)], expires_at: expires, error: null },
        ),
      };
    },
  });
  return {
    cache, minter, calls, results, ttl, behave,
    add: (...entries) => {
      cache.applyEntries(entries, []);
      minter.consider(entries.map((e) => e.id));
    },
    close: () => {
      minter.stop();
      cache.close();
    },
  };
}

describe('agent SVID minter', function () {
  this.timeout(20_000);

  it('mints a burst in even batches and puts every SVID in the cache', async () => {
    const h = harness({ batchSize: 250, maxInFlight: 2 });
    h.add(...Array.from({ length: 600 }, (_, i) => entry(`e${i}`)));
    await until('all minted', () => h.cache.identityCount === 600);
    assert.deepEqual(h.calls.map((c) => c.length), [200, 200, 200]);
    assert.ok(h.results.every((r) => r === undefined));
    h.close();
  });

  it('re-mints when the entry revision changes, not otherwise', async () => {
    const h = harness();
    h.add(entry('a'));
    await until('minted', () => h.cache.identityCount === 1);
    h.add(entry('a'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(h.calls.length, 1, 'same revision: nothing to do');
    h.add(entry('a', 1));
    await until('re-minted', () => h.cache.svid('a')?.revision === 1);
    assert.equal(h.calls.length, 2);
    h.close();
  });

  it('retries after a failed call, and leaves refused entries alone until they change', async () => {
    const h = harness();
    h.behave.fail = Object.assign(new Error('14 UNAVAILABLE'), { code: status.UNAVAILABLE, details: '', metadata: new Metadata() });
    h.add(entry('a'));
    await until('failed once', () => h.results.length === 1);
    assert.ok(h.results[0] instanceof Error);
    h.behave.fail = undefined;
    await until('retried', () => h.cache.identityCount === 1, 3000);

    h.behave.refuse = new Set(['b']);
    h.add(entry('b'));
    await until('refused', () => h.calls.length === 3);
    h.add(entry('b'));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.calls.length, 3, 'not asked again for the same revision');
    h.behave.refuse = undefined;
    h.add(entry('b', 1));
    await until('minted after the entry changed', () => h.cache.identityCount === 2);
    h.close();
  });

  it('rotates at half-life and drops an SVID that expires while the server is unreachable', async () => {
    const h = harness();
    h.ttl.seconds = 2;
    h.add(entry('a'));
    await until('minted', () => h.cache.identityCount === 1);
    const first = h.cache.svid('a')!;
    await until('rotated', () => h.cache.svid('a') !== first, 3000);
    assert.ok(Date.now() / 1000 < first.expiresAt + 1, 'before the first expired');
    h.behave.fail = Object.assign(new Error('down'), { code: status.UNAVAILABLE, details: '', metadata: new Metadata() });
    await until('expired and dropped', () => h.cache.identityCount === 0, 5000);
    assert.equal(h.cache.snapshot([UID]).identities.length, 0);
    h.close();
  });
});
