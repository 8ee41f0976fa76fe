/**
 * The xDS state machines on their own (no socket): when a StreamSecrets or DeltaSecrets stream
 * answers, with which version and nonce, and when it stays silent.
 */
import assert from 'node:assert/strict';
import type { IdentitySnapshot } from '../../../../agent/cache/workload-view.js';
import { EventEmitter } from 'node:events';
import { DeltaStream, foldDelta } from '../../../../agent/sds/delta.js';
import type { DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg, DiscoveryRequestMsg, DiscoveryResponseMsg } from '../../../../agent/sds/messages.js';
import { MAX_NAMES, type StreamContext } from '../../../../agent/sds/protocol.js';
import { DEFAULT_SDS_SETTINGS } from '../../../../agent/sds/settings.js';
import { SotwStream } from '../../../../agent/sds/sotw.js';
import { responseSender } from '../../../../agent/sds/stream.js';
import { LatestWinsStream, WriteBudget, type WritableCall } from '../../../../agent/workloadapi/stream.js';
import { RpcError } from '../../../../agent/workloadapi/status.js';
import { TestAuthority } from '../../../fakes/workload-view.js';
import { RecordingLogger } from '../../../integration/workloadapi/harness.js';

const TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

function ctx(logger = new RecordingLogger()): StreamContext {
  let n = 0;
  return { settings: DEFAULT_SDS_SETTINGS, logger, fields: {}, nonce: () => `n${++n}` };
}

const req = (o: Partial<DiscoveryRequestMsg>): DiscoveryRequestMsg => ({
  version_info: '', node: null, resource_names: [], type_url: TYPE, response_nonce: '', error_detail: null, ...o,
});

const dreq = (o: Partial<DeltaDiscoveryRequestMsg>): DeltaDiscoveryRequestMsg => ({
  node: null, type_url: TYPE, resource_names_subscribe: [], resource_names_unsubscribe: [], initial_resource_versions: {},
  response_nonce: '', error_detail: null, ...o,
});

describe('agent/sds: stream state machines', () => {
  let auth: TestAuthority;
  let s1: IdentitySnapshot;
  let s2: IdentitySnapshot;
  before(async () => {
    auth = await TestAuthority.create('example.org');
    const bundle = auth.bundleView();
    s1 = { version: 1, identities: [await auth.issue('/w', [])], bundle, federatedBundles: new Map() };
    s2 = { version: 2, identities: [await auth.issue('/w', [])], bundle, federatedBundles: new Map() };
  });

  describe('StreamSecrets', () => {
    it('waits for both a request and a state, then numbers versions per stream and ignores ACKs', () => {
      const sent: DiscoveryResponseMsg[] = [];
      const m = new SotwStream(ctx(), (r) => sent.push(r));
      m.onRequest(req({ resource_names: ['default'] }));
      assert.equal(sent.length, 0, 'no state yet');
      m.onSnapshot(s1);
      assert.deepEqual(sent.map((r) => [r.version_info, r.nonce, r.resources.map((x) => x.name)]), [['1', 'n1', ['default']]]);
      m.onRequest(req({ resource_names: ['default'], version_info: '1', response_nonce: 'n1' }));
      m.onSnapshot({ ...s1, version: 5 });
      assert.equal(sent.length, 1, 'an ACK and an unchanged state send nothing');
      m.onSnapshot(s2);
      assert.deepEqual(sent.map((r) => r.version_info), ['1', '2']);
      assert.equal(m.version, '2');
    });

    it('answers a change of names, ignores a stale nonce, and does not resend after a NACK', () => {
      const logger = new RecordingLogger();
      const sent: DiscoveryResponseMsg[] = [];
      const m = new SotwStream(ctx(logger), (r) => sent.push(r));
      m.onSnapshot(s1);
      m.onRequest(req({ resource_names: ['default'] }));
      m.onRequest(req({ resource_names: ['ROOTCA'], response_nonce: 'n0' }));
      assert.equal(sent.length, 1, 'stale nonce ignored');
      m.onRequest(req({ resource_names: ['default'], response_nonce: 'n1', error_detail: { code: 13, message: 'no' } }));
      assert.equal(sent.length, 1, 'a NACK with the same names is not answered');
      assert.equal(logger.lines.filter((l) => l.level === 'warn' && l.message.startsWith('sds: Envoy rejected')).length, 1);
      m.onRequest(req({ resource_names: ['ROOTCA', 'default'], response_nonce: 'n1' }));
      assert.deepEqual(sent[1]?.resources.map((r) => r.name), ['ROOTCA', 'default']);
      assert.equal(sent[1]?.version_info, '2');
    });

    it('reads an empty list as the wildcard only before any name was asked for, and refuses another type URL', () => {
      const sent: DiscoveryResponseMsg[] = [];
      const m = new SotwStream(ctx(), (r) => sent.push(r));
      m.onSnapshot(s1);
      m.onRequest(req({}));
      assert.deepEqual(sent[0]?.resources.map((r) => r.name), ['spiffe://example.org', 'spiffe://example.org/w']);
      m.onRequest(req({ resource_names: ['default'], response_nonce: 'n1' }));
      m.onRequest(req({ resource_names: [], response_nonce: 'n2' }));
      assert.deepEqual(sent.map((r) => r.resources.length), [2, 1, 0], 'empty after names: nothing');
      assert.throws(() => m.onRequest(req({ type_url: 'type.googleapis.com/envoy.config.cluster.v3.Cluster', response_nonce: 'n3' })), RpcError);
    });

    it('withholds unknown names until the caller holds them, then sends an empty response if they go away', () => {
      const sent: DiscoveryResponseMsg[] = [];
      const m = new SotwStream(ctx(), (r) => sent.push(r));
      const none = { ...s1, identities: [] };
      m.onSnapshot(none);
      m.onRequest(req({ resource_names: ['default'] }));
      assert.equal(sent.length, 0);
      m.onSnapshot(s1);
      m.onSnapshot({ ...none, version: 3 });
      assert.deepEqual(sent.map((r) => r.resources.length), [1, 0]);
    });
  });

  describe('a hostile client', () => {
    const many = (n: number, from = 0): string[] => Array.from({ length: n }, (_, i) => `spiffe://example.org/x${from + i}`);
    const exhausted = (err: unknown): boolean => err instanceof RpcError && err.code === 8 && err.details.includes(`at most ${MAX_NAMES}`);

    it('ends a stream asking for more names than the cap, on either variant; Delta counts what accumulated', () => {
      const sotw = new SotwStream(ctx(), () => {});
      sotw.onSnapshot(s1);
      sotw.onRequest(req({ resource_names: [...many(MAX_NAMES), ...many(MAX_NAMES)] }));
      assert.throws(() => sotw.onRequest(req({ resource_names: many(MAX_NAMES + 1) })), exhausted);
      const delta = new DeltaStream(ctx(), () => {});
      delta.onSnapshot(s1);
      delta.onRequest(dreq({ resource_names_subscribe: many(MAX_NAMES) }));
      delta.onRequest(dreq({ resource_names_subscribe: many(10), resource_names_unsubscribe: many(10) }));
      assert.throws(() => delta.onRequest(dreq({ resource_names_subscribe: many(1, MAX_NAMES) })), exhausted);
    });

    it('logs a NACK once per response rejected, however often the client repeats it', () => {
      const logger = new RecordingLogger();
      const sent: DiscoveryResponseMsg[] = [];
      const m = new SotwStream(ctx(logger), (r) => sent.push(r));
      m.onSnapshot(s1);
      m.onRequest(req({ resource_names: ['default'] }));
      const nack = { code: 13, message: 'no' };
      for (let i = 0; i < 100; i++) m.onRequest(req({ resource_names: ['default'], response_nonce: 'n1', error_detail: nack }));
      m.onSnapshot(s2);
      m.onRequest(req({ resource_names: ['default'], response_nonce: 'n2', error_detail: nack }));
      const d = new DeltaStream(ctx(logger), () => {});
      for (let i = 0; i < 100; i++) d.onRequest(dreq({ response_nonce: 'n1', error_detail: nack }));
      assert.deepEqual(logger.lines.filter((l) => l.message.startsWith('sds: Envoy rejected')).map((l) => l.fields['nonce']), ['n1', 'n2', 'n1']);
      assert.equal(sent.length, 2);
    });

    it('remembers only the missing names still asked for: cycling through names logs each, and again when asked again', () => {
      const logger = new RecordingLogger();
      const m = new SotwStream(ctx(logger), () => {});
      m.onSnapshot(s1);
      for (let i = 0; i < 3; i++) m.onRequest(req({ resource_names: many(1, i) }));
      m.onRequest(req({ resource_names: many(2) }));
      const warned = logger.lines.filter((l) => l.level === 'warn').map((l) => l.fields['names']);
      assert.deepEqual(warned, [many(1, 0), many(1, 1), many(1, 2), many(2)]);
    });
  });

  describe('DeltaSecrets', () => {
    it('sends subscribed names once per content, removals once, and honours subscriptions whatever the nonce', () => {
      const sent: DeltaDiscoveryResponseMsg[] = [];
      const m = new DeltaStream(ctx(), (r) => sent.push(r));
      m.onRequest(dreq({ resource_names_subscribe: ['default', 'spiffe://example.org/nope'] }));
      assert.equal(sent.length, 0);
      m.onSnapshot(s1);
      assert.deepEqual([sent[0]?.resources.map((r) => r.name), sent[0]?.removed_resources, sent[0]?.nonce], [['default'], ['spiffe://example.org/nope'], 'n1']);
      m.onSnapshot({ ...s1, version: 9 });
      m.onRequest(dreq({ response_nonce: 'n1' }));
      assert.equal(sent.length, 1, 'unchanged content and ACKs send nothing; the removal is not repeated');
      m.onRequest(dreq({ response_nonce: 'stale', resource_names_subscribe: ['ROOTCA'], resource_names_unsubscribe: ['default'] }));
      assert.deepEqual(sent[1]?.resources.map((r) => r.name), ['ROOTCA']);
      assert.deepEqual(m.subscribed, ['spiffe://example.org/nope', 'ROOTCA']);
      m.onSnapshot(s2);
      assert.equal(sent.length, 2, 'rotation of an unsubscribed name is not pushed');
      m.onRequest(dreq({ resource_names_subscribe: ['ROOTCA'] }));
      assert.deepEqual(sent[2]?.resources.map((r) => r.name), ['ROOTCA'], 'a re-subscription is answered even when unchanged');
    });

    it('never loses a response a slow client had not been written yet: it folds into the next', () => {
      // A call whose writes finish only when told, as a socket that is not drained yet.
      const call = Object.assign(new EventEmitter(), {
        cancelled: false,
        written: [] as Buffer[],
        done: [] as (() => void)[],
        write(chunk: Buffer, cb: () => void): boolean {
          this.written.push(chunk);
          this.done.push(cb);
          return true;
        },
        end(): void {},
      });
      const stream = new LatestWinsStream(call as unknown as WritableCall, new WriteBudget(1 << 30, 60_000));
      const encode = (r: DeltaDiscoveryResponseMsg): Buffer => Buffer.from(JSON.stringify([r.nonce, r.resources.map((x) => x.name), r.removed_resources]));
      const m = new DeltaStream(ctx(), responseSender(stream, encode, foldDelta));
      m.onSnapshot(s1);
      m.onRequest(dreq({ resource_names_subscribe: ['default'] }));
      m.onRequest(dreq({ resource_names_subscribe: ['ROOTCA', 'spiffe://example.org/gone'] }));
      m.onRequest(dreq({ resource_names_subscribe: ['spiffe://example.org'] }));
      m.onRequest(dreq({ resource_names_subscribe: ['spiffe://example.org/gone'] }));
      assert.equal(call.written.length, 1, 'the first is being written; the rest wait');
      for (const cb of call.done.splice(0)) cb();
      assert.deepEqual(call.written.map((b) => JSON.parse(String(b)) as unknown), [
        ['n1', ['default'], []],
        ['n4', ['ROOTCA', 'spiffe://example.org'], ['spiffe://example.org/gone']],
      ]);
      for (const cb of call.done.splice(0)) cb();
      m.onSnapshot(s2);
      assert.deepEqual(JSON.parse(String(call.written[2])), ['n5', ['default'], []], 'once written, a response is not folded again');
    });

    it('serves the wildcard * as every secret held, removes what it covered when it goes, and stops with its unsubscription', async () => {
      const sent: DeltaDiscoveryResponseMsg[] = [];
      const m = new DeltaStream(ctx(), (r) => sent.push(r));
      const shape = (r: DeltaDiscoveryResponseMsg | undefined): unknown => [r?.resources.map((x) => x.name), r?.removed_resources];
      m.onSnapshot(s1);
      m.onRequest(dreq({ resource_names_subscribe: ['*', 'ROOTCA'] }));
      assert.deepEqual(shape(sent[0]), [['ROOTCA', 'spiffe://example.org', 'spiffe://example.org/w'], []]);
      const v = await auth.issue('/v', []);
      m.onSnapshot({ ...s1, version: 3, identities: [...s1.identities, v] });
      assert.deepEqual(shape(sent[1]), [['spiffe://example.org/v'], []], 'only the new identity');
      m.onSnapshot({ ...s1, version: 4 });
      assert.deepEqual(shape(sent[2]), [[], ['spiffe://example.org/v']]);
      m.onRequest(dreq({ resource_names_unsubscribe: ['*'] }));
      m.onSnapshot({ ...s2, version: 5 });
      assert.equal(sent.length, 3, 'a rotation only the wildcard covered is not pushed once it is gone');
      const r = new DeltaStream(ctx(), (x) => sent.push(x));
      r.onSnapshot(s1);
      r.onRequest(dreq({ resource_names_subscribe: ['*'], initial_resource_versions: { 'spiffe://example.org/w': sent[0]!.resources[2]!.version } }));
      assert.deepEqual(shape(sent[3]), [['spiffe://example.org'], []], 'a reconnect skips what it holds');
    });
  });
});
