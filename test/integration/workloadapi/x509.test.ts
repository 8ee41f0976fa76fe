/**
 * FetchX509SVID over a real socket, the test process being the caller (attested by the real unix
 * attestor as uid 0): exactly the caller's SVIDs in order with bundle, federated bundles and hints;
 * a push on every change; PermissionDenied for a fetch with nothing to give, an open stream for a
 * watcher until an entry appears, and the end of the stream when the last identity goes.
 */
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { X509Bundle } from '../../../spiffe/bundle/index.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { X509Svid } from '../../../spiffe/x509svid/index.js';
import type { X509SvidResponseMsg } from '../../../agent/workloadapi/messages.js';
import { TestAuthority } from '../../fakes/workload-view.js';
import { startHarness, type Harness } from './harness.js';
import { StreamRecorder, TestWorkloadClient } from './workload-client.js';

const ME = `unix:uid:${process.getuid?.() ?? 0}`;

describe('workload api: FetchX509SVID', () => {
  let h: Harness;
  let client: TestWorkloadClient;
  beforeEach(async () => {
    h = await startHarness();
    client = new TestWorkloadClient(h.socketPath);
  });
  afterEach(async () => {
    client.close();
    await h.close();
  });

  it("sends the caller's SVIDs, ordered by entry creation, each parseable with its key and bundle", async () => {
    const later = await h.authority.issue('/later', [ME], { createdAt: 200, entryId: 'b' });
    const first = await h.authority.issue('/first', [ME], { createdAt: 100, entryId: 'z', hint: 'internal' });
    const other = await h.authority.issue('/other', ['unix:uid:4242']);
    h.view.setIdentities([later, other, first]);
    const res = await client.first<X509SvidResponseMsg>('FetchX509SVID');
    assert.deepEqual(res.svids.map((s) => s.spiffe_id), ['spiffe://example.org/first', 'spiffe://example.org/later']);
    assert.deepEqual(res.svids.map((s) => s.hint), ['internal', '']);
    for (const s of res.svids) {
      const svid = X509Svid.parseRaw(s.x509_svid, s.x509_svid_key);
      assert.equal(svid.id.toString(), s.spiffe_id);
      const bundle = X509Bundle.parseRaw(TrustDomain.fromString('example.org'), s.bundle);
      assert.equal(bundle.x509Authorities()[0]?.raw.equals(h.authority.caDer), true);
    }
    assert.deepEqual(res.federated_bundles, {});
  });

  it('keeps only the first identity of a repeated hint', async () => {
    const a = await h.authority.issue('/a', [ME], { createdAt: 1, hint: 'db' });
    const b = await h.authority.issue('/b', [ME], { createdAt: 2, hint: 'db' });
    h.view.setIdentities([a, b]);
    const res = await client.first<X509SvidResponseMsg>('FetchX509SVID');
    assert.deepEqual(res.svids.map((s) => s.spiffe_id), ['spiffe://example.org/a']);
  });

  it('adds the bundles of the trust domains the identities federate with, keyed by trust domain ID', async () => {
    const other = await TestAuthority.create('other.org');
    h.view.addFederated(other);
    h.view.addIdentity(await h.authority.issue('/fed', [ME], { federatesWith: ['other.org'] }));
    const res = await client.first<X509SvidResponseMsg>('FetchX509SVID');
    assert.deepEqual(Object.keys(res.federated_bundles), ['spiffe://other.org']);
    assert.ok(res.federated_bundles['spiffe://other.org']?.equals(other.caDer));
  });

  it('answers a fetch (a call with a deadline) that matches no entry with PermissionDenied "no identity issued"', async () => {
    h.view.addIdentity(await h.authority.issue('/someone-else', ['unix:uid:4242']));
    await assert.rejects(client.first('FetchX509SVID', { deadlineMs: 5000 }), (err: { code: number; details: string }) => {
      assert.equal(err.code, status.PERMISSION_DENIED);
      assert.equal(err.details, 'no identity issued');
      return true;
    });
  });

  it('keeps a watching stream (no deadline) open until an entry appears, then sends at once', async () => {
    const rec = new StreamRecorder(client.stream<X509SvidResponseMsg>('FetchX509SVID'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rec.messages.length, 0);
    assert.equal(rec.status, undefined);
    h.view.addIdentity(await h.authority.issue('/late', [ME]));
    await rec.messageCount(1);
    assert.deepEqual(rec.messages[0]?.svids.map((s) => s.spiffe_id), ['spiffe://example.org/late']);
    rec.call.cancel();
  });

  it('pushes the full set on every change, and ends with PermissionDenied when the last identity goes', async () => {
    const one = await h.authority.issue('/one', [ME], { createdAt: 1 });
    h.view.addIdentity(one);
    const rec = new StreamRecorder(client.stream<X509SvidResponseMsg>('FetchX509SVID'));
    await rec.messageCount(1);
    const two = await h.authority.issue('/two', [ME], { createdAt: 2 });
    h.view.addIdentity(two);
    await rec.messageCount(2);
    assert.deepEqual(rec.messages[1]?.svids.map((s) => s.spiffe_id), ['spiffe://example.org/one', 'spiffe://example.org/two']);
    h.view.removeIdentity(one.entryId);
    await rec.messageCount(3);
    assert.deepEqual(rec.messages[2]?.svids.map((s) => s.spiffe_id), ['spiffe://example.org/two']);
    h.view.removeIdentity(two.entryId);
    await rec.ended();
    assert.equal(rec.status?.code, status.PERMISSION_DENIED);
    assert.equal(rec.status?.details, 'no identity issued');
    assert.equal(rec.messages.length, 3);
    await waitUntil(() => h.view.subscriberCount === 0);
  });

  it("does not resend when a change leaves the caller's entitlement as it was", async () => {
    h.view.addIdentity(await h.authority.issue('/steady', [ME]));
    const rec = new StreamRecorder(client.stream<X509SvidResponseMsg>('FetchX509SVID'));
    await rec.messageCount(1);
    h.view.addIdentity(await h.authority.issue('/not-mine', ['unix:uid:4242']));
    h.view.touch();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(rec.messages.length, 1);
    rec.call.cancel();
  });

  it('unsubscribes from the cache when the client cancels', async () => {
    h.view.addIdentity(await h.authority.issue('/c', [ME]));
    const rec = new StreamRecorder(client.stream<X509SvidResponseMsg>('FetchX509SVID'));
    await rec.messageCount(1);
    assert.equal(h.view.subscriberCount, 1);
    rec.call.cancel();
    await waitUntil(() => h.view.subscriberCount === 0);
  });

  it('encodes one response for many callers with the same identities', async () => {
    h.view.addIdentity(await h.authority.issue('/shared', [ME]));
    const before = h.server.responses.encodings;
    const clients = Array.from({ length: 20 }, () => new TestWorkloadClient(h.socketPath));
    try {
      const all = await Promise.all(clients.map((c) => c.first<X509SvidResponseMsg>('FetchX509SVID')));
      assert.equal(new Set(all.map((r) => r.svids[0]?.x509_svid.toString('hex'))).size, 1);
      assert.equal(h.server.responses.encodings - before, 1);
    } finally {
      for (const c of clients) c.close();
    }
  });
});

export async function waitUntil(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
