/**
 * Pushed entry sync end to end: the full set at start, creates, updates and deletes reaching the
 * cache with the time from the operator's call to the subscriber's snapshot measured, and resuming
 * after the server restarts.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { X509Bundle } from '../../../spiffe/bundle/index.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { verifyX509Svid } from '../../../spiffe/x509svid/index.js';
import type { IdentitySnapshot } from '../../../agent/cache/workload-view.js';
import { agentIdFor, entries, percentile, TD, UID_SELECTOR, until, useFixtures, waitForSnapshot } from './harness.js';

const ids = (s: IdentitySnapshot): string[] => s.identities.map((i) => i.spiffeId);

describe('agent: entry sync', function () {
  this.timeout(120_000);
  const f = useFixtures();

  it('receives the full set at start and mints a verifiable SVID for each entry', async () => {
    const server = await f.server();
    const token = await server.token();
    await server.createEntries(entries(agentIdFor(token), 3));
    const { agent } = await f.agent(server, { token });
    const s = await waitForSnapshot(agent, [UID_SELECTOR], (x) => x.identities.length === 3);
    assert.deepEqual([...ids(s)].sort(), [0, 1, 2].map((i) => `spiffe://${TD}/w/${i}`));
    const bundle = X509Bundle.parse(TrustDomain.fromString(TD), readFileSync(server.bundlePath));
    assert.ok(s.bundle.x509Der.length > 0);
    for (const identity of s.identities) {
      const chain = splitDer(identity.certChainDer);
      const { id } = verifyX509Svid(chain, bundle);
      assert.equal(id.toString(), identity.spiffeId);
      const held = createPublicKey(createPrivateKey({ key: identity.privateKeyDer, format: 'der', type: 'pkcs8' })).export({ type: 'spki', format: 'der' });
      assert.ok(chain[0]!.publicKey.export({ type: 'spki', format: 'der' }).equals(held), 'the certificate is for the key generated here');
      assert.ok(identity.expiresAt > Date.now() / 1000);
    }
    // A caller without the entry's selector gets nothing.
    assert.equal(agent.view.snapshot([{ type: 'unix', value: 'uid:424242' }]).identities.length, 0);
  });

  it('delivers created, updated and deleted entries to subscribers (propagation measured)', async () => {
    const server = await f.server();
    const token = await server.token();
    const parent = agentIdFor(token);
    const { agent } = await f.agent(server, { token });
    await until('synced', () => agent.health().ready);

    const latest = { snapshot: agent.view.snapshot([UID_SELECTOR]) };
    const waiters = new Set<() => void>();
    const sub = agent.view.subscribe([UID_SELECTOR], (s) => {
      latest.snapshot = s;
      for (const w of [...waiters]) w();
    });
    const when = (check: (s: IdentitySnapshot) => boolean): Promise<void> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no snapshot within 5 s')), 5000);
        const w = (): void => {
          if (!check(latest.snapshot)) return;
          clearTimeout(timer);
          waiters.delete(w);
          resolve();
        };
        waiters.add(w);
        w();
      });

    const created: number[] = [];
    const createdIds: string[] = [];
    for (let i = 0; i < 100; i++) {
      const spiffeId = `spiffe://${TD}/p/${i}`;
      const t0 = performance.now();
      const [e] = await server.createEntries([{ spiffe_id: spiffeId, parent_id: parent, selectors: [UID_SELECTOR] }]);
      await when((s) => ids(s).includes(spiffeId));
      created.push(performance.now() - t0);
      createdIds.push(e!.id);
    }

    // An update that takes the entry away from this caller, then a hint change.
    const moved = createdIds[0]!;
    await server.updateEntry(moved, { selectors: [{ type: 'unix', value: 'uid:424242' }] }, { selectors: true });
    await when((s) => !ids(s).includes(`spiffe://${TD}/p/0`));
    await server.updateEntry(createdIds[1]!, { hint: 'internal' }, { hint: true });
    await when((s) => s.identities.some((i) => i.spiffeId === `spiffe://${TD}/p/1` && i.hint === 'internal'));

    const deleted: number[] = [];
    for (let i = 2; i < 22; i++) {
      const spiffeId = `spiffe://${TD}/p/${i}`;
      const t0 = performance.now();
      await server.deleteEntries([createdIds[i]!]);
      await when((s) => !ids(s).includes(spiffeId));
      deleted.push(performance.now() - t0);
    }
    sub.unsubscribe();

    report('entry created → snapshot delivered', created);
    report('entry deleted → snapshot delivered', deleted);
    assert.ok(percentile(sort(created), 99) < 1000, 'p99 of creation well under a second even on a loaded machine');
  });

  it('reconnects after a server restart and resumes from its last event', async () => {
    const server = await f.server();
    const token = await server.token();
    const parent = agentIdFor(token);
    await server.createEntries(entries(parent, 2, 'before'));
    const { agent, logger } = await f.agent(server, { token, tuning: { reconnect: { baseMs: 100, maxMs: 500 } } });
    await waitForSnapshot(agent, [UID_SELECTOR], (s) => s.identities.length === 2);

    await server.restart();
    await server.createEntries(entries(parent, 2, 'after'));
    const s = await waitForSnapshot(agent, [UID_SELECTOR], (x) => x.identities.length === 4, 15_000, 'entries created after the restart');
    assert.ok(ids(s).includes(`spiffe://${TD}/after/1`));
    const lost = logger.lines.find((l) => l.message === 'sync: entry stream lost; reconnecting');
    assert.ok(lost !== undefined, 'the stream loss was logged');
    assert.notEqual(lost.fields['resumeAfter'], '0', 'it resumed after an event id, not from scratch');
    await until('the server is reachable again', () => !agent.health().detail.includes('degraded'));
  });
});

function sort(xs: number[]): number[] {
  return [...xs].sort((a, b) => a - b);
}

function report(what: string, ms: number[]): void {
  const s = sort(ms);
  process.stdout.write(
    `      ${what}: n=${s.length} p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms\n`,
  );
}

function splitDer(concatenated: Buffer): X509Certificate[] {
  const out: X509Certificate[] = [];
  let at = 0;
  while (at < concatenated.length) {
    // SEQUENCE with a long-form length (certificates are > 127 bytes).
    const n = concatenated[at + 1]! & 0x7f;
    const len = concatenated.subarray(at + 2, at + 2 + n).reduce((a, b) => a * 256 + b, 0);
    const end = at + 2 + n + len;
    out.push(new X509Certificate(concatenated.subarray(at, end)));
    at = end;
  }
  return out;
}
