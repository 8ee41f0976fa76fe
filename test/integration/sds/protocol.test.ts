/**
 * Envoy SDS on a real socket over a FakeWorkloadView, the test process being the Envoy (attested by
 * the real unix attestor), talking through the client built from Envoy's own protos: resource names
 * and kinds, the validator choice, the xDS rules (versions, nonces, ACK/NACK, stale nonces,
 * subscription changes, withheld names, reconnects), Delta, FetchSecrets, and callers that are not
 * attested or hold no identity.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { status, type ClientDuplexStream, type StatusObject } from '@grpc/grpc-js';
import type { WorkloadAttestor } from '../../../attestors/workload/workload-attestor.js';
import { DEFAULT_SDS_SETTINGS, sdsService, type SdsSettings } from '../../../agent/sds/index.js';
import type { WorkloadApiDeps } from '../../../agent/workloadapi/index.js';
import { EnvoySdsClient, envoySdsMethods, SPIFFE_VALIDATOR_TYPE, type EnvoySecret, type SecretWatch } from '../../support/envoy-sds-client.js';
import { FakeWorkloadView, TestAuthority } from '../../fakes/workload-view.js';
import { pem } from '../agent/harness.js';
import { startHarness, testAuthority, type Harness } from '../workloadapi/harness.js';

const ME = `unix:uid:${process.getuid?.() ?? 0}`;
const quiet = (ms = 300): Promise<void> => new Promise((r) => setTimeout(r, ms));

function leafId(s: EnvoySecret): string | undefined {
  const pemText = s.tls_certificate?.certificate_chain?.inline_bytes?.toString();
  return pemText === undefined ? undefined : new X509Certificate(pemText).subjectAltName?.replace(/^URI:/, '');
}

function trustDomains(s: EnvoySecret): { name: string; pem: string }[] | undefined {
  const cfg = s.validation_context?.custom_validator_config?.typed_config;
  if (cfg === null || cfg === undefined) return undefined;
  assert.equal(cfg['@type'], SPIFFE_VALIDATOR_TYPE);
  assert.equal(s.validation_context?.custom_validator_config?.name, 'envoy.tls.cert_validator.spiffe');
  return cfg.trust_domains.map((t) => ({ name: t.name, pem: t.trust_bundle!.inline_bytes!.toString() }));
}

const trustedCa = (s: EnvoySecret): string | undefined => s.validation_context?.trusted_ca?.inline_bytes?.toString();

async function sdsHarness(
  o: { settings?: Partial<SdsSettings>; attestors?: WorkloadAttestor[]; view?: FakeWorkloadView; peerTracking?: WorkloadApiDeps['peerTracking'] } = {},
): Promise<Harness> {
  const settings = { ...DEFAULT_SDS_SETTINGS, ...o.settings };
  return startHarness({
    services: [sdsService({ settings })],
    ...(o.attestors ? { attestors: o.attestors } : {}),
    ...(o.view ? { view: o.view } : {}),
    ...(o.peerTracking ? { peerTracking: o.peerTracking } : {}),
  });
}

describe('sds: Envoy SDS v3 on the agent socket', function () {
  this.timeout(20_000);
  let h: Harness;
  let sds: EnvoySdsClient;
  let other: TestAuthority;
  const watches: SecretWatch[] = [];
  const watch = (...args: Parameters<EnvoySdsClient['watch']>): SecretWatch => {
    const w = sds.watch(...args);
    watches.push(w);
    return w;
  };
  before(async () => {
    other = await TestAuthority.create('other.org');
  });
  beforeEach(async () => {
    h = await sdsHarness();
    sds = new EnvoySdsClient(h.socketPath);
  });
  afterEach(async () => {
    for (const w of watches.splice(0)) w.cancel();
    sds.close();
    await h.close();
  });

  describe('resource names', () => {
    beforeEach(async () => {
      h.view.addFederated(other);
      h.view.setIdentities([
        await h.authority.issue('/first', [ME], { createdAt: 1 }),
        await h.authority.issue('/second', [ME], { createdAt: 2, federatesWith: ['other.org'] }),
        await h.authority.issue('/not-mine', ['unix:uid:4242'], { createdAt: 0 }),
      ]);
    });

    it('serves default (first SVID), a held SPIFFE ID, ROOTCA, the trust domain IDs and ALL, one stream each, needing no security header', async () => {
      const byDefault = await watch('default', 'certificate').ready();
      const byId = await watch('spiffe://example.org/second', 'certificate').ready();
      const rootca = await watch('ROOTCA', 'validation').ready();
      const own = await watch('spiffe://example.org', 'validation').ready();
      const fed = await watch('spiffe://other.org', 'validation').ready();
      const all = await watch('ALL', 'validation').ready();
      assert.equal(leafId(byDefault), 'spiffe://example.org/first');
      assert.equal(leafId(byId), 'spiffe://example.org/second');
      const ca = pem(h.authority.caDer);
      assert.deepEqual(trustDomains(rootca), [{ name: 'example.org', pem: ca }]);
      assert.deepEqual(trustDomains(own), [{ name: 'example.org', pem: ca }]);
      assert.deepEqual(trustDomains(fed), [{ name: 'other.org', pem: pem(other.caDer) }]);
      assert.deepEqual(trustDomains(all), [{ name: 'example.org', pem: ca }, { name: 'other.org', pem: pem(other.caDer) }]);
      for (const w of watches) {
        assert.equal(w.nacks, 0, w.name);
        assert.equal(w.responses[0]?.version_info, '1');
        assert.match(w.responses[0]?.nonce ?? '', /^[0-9a-f]{16}$/);
        assert.equal(w.responses[0]?.control_plane?.identifier, 'sigil-agent');
        assert.deepEqual(w.responses[0]?.resources.map((r) => r.name), [w.name]);
      }
    });

    it('answers FetchSecrets with the named secrets, no version and no nonce; an unknown name fails the call as SPIRE does', async () => {
      const res = await sds.fetch(['ROOTCA', 'default']);
      assert.deepEqual(res.resources.map((r) => r.name), ['ROOTCA', 'default']);
      assert.deepEqual([res.version_info, res.nonce], ['', '']);
      assert.equal(leafId(res.resources[1]!), 'spiffe://example.org/first');
      const everything = await sds.fetch([]);
      assert.deepEqual(everything.resources.map((r) => r.name), [
        'spiffe://example.org', 'spiffe://other.org', 'spiffe://example.org/first', 'spiffe://example.org/second',
      ]);
      await assert.rejects(sds.fetch(['default', 'spiffe://example.org/not-mine', 'nope']), (err: { code: number; details: string }) => {
        assert.equal(err.code, status.INVALID_ARGUMENT);
        assert.equal(err.details, 'workload is not authorized for the requested identities ["nope" "spiffe://example.org/not-mine"]');
        return true;
      });
      await assert.rejects(sds.fetch(['default'], undefined, 'type.googleapis.com/envoy.config.cluster.v3.Cluster'), { code: status.INVALID_ARGUMENT });
      const tooMany = Array.from({ length: 1025 }, (_, i) => `spiffe://example.org/x${i}`);
      await assert.rejects(sds.fetch(tooMany), { code: status.RESOURCE_EXHAUSTED, details: '1025 resource names asked for; at most 1024 are served per stream or fetch (Envoy asks for one per stream)' });
    });

    it('reads an empty name list on a fresh stream as every secret, by canonical names', async () => {
      const w = watch('', 'validation');
      await w.until((x) => x.responses.length === 1);
      assert.deepEqual(w.responses[0]?.resources.map((r) => r.name), [
        'spiffe://example.org', 'spiffe://other.org', 'spiffe://example.org/first', 'spiffe://example.org/second',
      ]);
    });
  });

  describe('validator choice', () => {
    beforeEach(async () => h.view.addIdentity(await h.authority.issue('/w', [ME])));

    it('sends plain trusted_ca when the node metadata disables the validator (bool or string) or Envoy is older than 1.18', async () => {
      const ca = pem(h.authority.caDer);
      for (const node of [{ disableSpiffeCertValidation: true }, { disableSpiffeCertValidation: 'True' }, { version: [1, 17, 3] as const }]) {
        const s = await watch('ROOTCA', 'validation', { node }).ready();
        assert.equal(trustedCa(s), ca, JSON.stringify(node));
        assert.equal(s.validation_context?.custom_validator_config, null);
      }
      for (const node of [{ version: 'none' as const }, { version: [1, 18, 0] as const }, { disableSpiffeCertValidation: 'maybe' }]) {
        assert.ok(trustDomains(await watch('ROOTCA', 'validation', { node }).ready()), JSON.stringify(node));
      }
    });

    it('refuses ALL to an Envoy without the validator, ending the stream with SPIRE\'s status', async () => {
      const w = watch('ALL', 'validation', { node: { version: [1, 17, 0] } });
      await w.ended();
      assert.equal(w.status?.code, status.INTERNAL);
      assert.match(w.status?.details ?? '', /^unable to use "SPIFFE validator" on Envoy below 1\.18/);
      assert.equal(w.responses.length, 0);
    });

    it('follows disableSpiffeCertValidation from the config, unless the node metadata turns it back on', async () => {
      const h2 = await sdsHarness({ settings: { disableSpiffeCertValidation: true }, view: h.view });
      const sds2 = new EnvoySdsClient(h2.socketPath);
      try {
        const plain = sds2.watch('ROOTCA', 'validation');
        const spiffe = sds2.watch('ROOTCA', 'validation', { node: { disableSpiffeCertValidation: false } });
        assert.equal(trustedCa(await plain.ready()), pem(h.authority.caDer));
        assert.ok(trustDomains(await spiffe.ready()));
        plain.cancel();
        spiffe.cancel();
      } finally {
        sds2.close();
        await h2.close();
      }
    });

    it('uses the configured names in place of default, ROOTCA and ALL', async () => {
      const h2 = await sdsHarness({ settings: { defaultSvidName: 'svid', defaultBundleName: 'bundle', defaultAllBundlesName: 'every' }, view: h.view });
      const sds2 = new EnvoySdsClient(h2.socketPath);
      try {
        const res = await sds2.fetch(['svid', 'bundle', 'every']);
        assert.deepEqual(res.resources.map((r) => [r.name, r.type]), [['svid', 'tls_certificate'], ['bundle', 'validation_context'], ['every', 'validation_context']]);
        await assert.rejects(sds2.fetch(['default']), { code: status.INVALID_ARGUMENT });
      } finally {
        sds2.close();
        await h2.close();
      }
    });
  });

  describe('the xDS protocol', () => {
    it('answers the first request, gets ACKs it does not answer, and pushes each rotation with a new version and nonce', async () => {
      const first = await h.authority.issue('/w', [ME], { entryId: 'e1' });
      h.view.addIdentity(first);
      const w = watch('default', 'certificate');
      await w.ready();
      await quiet();
      assert.equal(w.responses.length, 1, 'the ACK got no response');
      assert.deepEqual([w.requests[1]?.['version_info'], w.requests[1]?.['response_nonce']], ['1', w.responses[0]?.nonce]);
      h.view.setIdentities([await h.authority.issue('/w', [ME], { entryId: 'e1' })]);
      await w.until((x) => x.responses.length === 2);
      assert.equal(w.responses[1]?.version_info, '2');
      assert.notEqual(w.responses[1]?.nonce, w.responses[0]?.nonce);
      assert.notEqual(leafId(w.applied[1]!), undefined);
      assert.notEqual(w.applied[1]?.tls_certificate?.certificate_chain?.inline_bytes?.toString(), w.applied[0]?.tls_certificate?.certificate_chain?.inline_bytes?.toString());
      // A change elsewhere in the cache (another caller's entry) is no change for this stream.
      h.view.addIdentity(await h.authority.issue('/someone', ['unix:uid:4242']));
      await quiet();
      assert.equal(w.responses.length, 2);
    });

    it('logs a NACK and does not send the rejected secret again; new content goes out', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME], { entryId: 'e1' }));
      let rejected = 0;
      const w = watch('default', 'certificate', {
        accept: () => {
          if (rejected++ === 0) throw new Error('bad certificate (test)');
        },
      });
      await w.until((x) => x.nacks === 1);
      assert.deepEqual(w.requests[1]?.['error_detail'], { code: 13, message: 'bad certificate (test)' });
      assert.equal(w.requests[1]?.['version_info'], '', 'a NACK carries the last version applied');
      await quiet(500);
      assert.equal(w.responses.length, 1, 'no resend after a NACK');
      const nackLogs = h.logger.lines.filter((l) => l.message.startsWith('sds: Envoy rejected'));
      assert.equal(nackLogs.length, 1);
      assert.equal(nackLogs[0]?.fields['error'], 'bad certificate (test)');
      h.view.setIdentities([await h.authority.issue('/w', [ME], { entryId: 'e1' })]);
      await w.until((x) => x.secret !== undefined);
      assert.equal(w.version, '2');
    });

    it('ignores a request with a stale nonce, name changes included; answers a change with the current nonce', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const w = watch('default', 'certificate');
      await w.ready();
      w.send({ version_info: '1', resource_names: ['ROOTCA'], response_nonce: 'not-the-last-nonce' });
      await quiet();
      assert.equal(w.responses.length, 1);
      w.send({ version_info: '1', resource_names: ['ROOTCA', 'default'], response_nonce: w.responses[0]!.nonce });
      await w.until((x) => x.responses.length === 2);
      assert.deepEqual(w.responses[1]?.resources.map((r) => r.name), ['ROOTCA', 'default']);
      assert.equal(w.responses[1]?.version_info, '2');
    });

    it('withholds a name the caller holds nothing by, logs it once, and sends it the moment an entry gives it', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const w = watch('spiffe://example.org/late', 'certificate');
      const missingLogs = (): number => h.logger.lines.filter((l) => l.message.startsWith('sds: the caller holds no secret')).length;
      // The log line says the stream was attested and read the request (a loaded machine may take a while).
      await w.until(() => missingLogs() > 0, 10_000, 'the missing name logged');
      h.view.touch();
      await quiet();
      assert.deepEqual([w.responses.length, w.status], [0, undefined]);
      assert.equal(missingLogs(), 1);
      h.view.addIdentity(await h.authority.issue('/late', [ME]));
      assert.equal(leafId(await w.ready()), 'spiffe://example.org/late');
    });

    it('sends the secrets to a reconnecting Envoy that reports the version it applied before', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const w = watch('default', 'certificate', { initialVersion: '17' });
      await w.ready();
      assert.equal(w.responses[0]?.version_info, '1');
    });

    it('unsubscribes from the cache when Envoy goes away', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const w = watch('default', 'certificate');
      await w.ready();
      assert.equal(h.view.subscriberCount, 1);
      w.cancel();
      await w.until(() => h.view.subscriberCount === 0, 5000, 'unsubscribed');
    });
  });

  describe('DeltaSecrets', () => {
    it('sends what is subscribed, nothing for an unsubscribed name, removals for names not held, and changes only', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME], { entryId: 'e1' }));
      const d = sds.delta({ kinds: { default: 'certificate', ROOTCA: 'validation' } });
      try {
        d.subscribe(['default']);
        await d.until((x) => x.responses.length === 1);
        assert.deepEqual(d.responses[0]?.resources.map((r) => r.name), ['default']);
        assert.match(d.responses[0]?.resources[0]?.version ?? '', /^[0-9a-f]{16}$/);
        d.subscribe(['ROOTCA']);
        await d.until((x) => x.responses.length === 2);
        assert.deepEqual(d.responses[1]?.resources.map((r) => r.name), ['ROOTCA'], 'only the new name');
        d.unsubscribe(['default']);
        // An unsubscription has no answer; the answer to the next request says the server read it.
        d.subscribe(['spiffe://example.org/later']);
        await d.until((x) => x.responses.length === 3);
        assert.deepEqual([d.responses[2]?.resources, d.responses[2]?.removed_resources], [[], ['spiffe://example.org/later']]);
        h.view.setIdentities([await h.authority.issue('/w', [ME], { entryId: 'e1' })]);
        await quiet();
        assert.equal(d.responses.length, 3, 'an unsubscribed name is not pushed');
        const next = await TestAuthority.create('example.org');
        h.view.setBundle(next.bundleView());
        await d.until((x) => x.responses.length === 4);
        assert.deepEqual(d.responses[3]?.resources.map((r) => r.name), ['ROOTCA']);
        assert.equal(trustDomains(d.secrets.get('ROOTCA')!.secret)?.[0]?.pem, pem(next.caDer));
        h.view.addIdentity(await h.authority.issue('/later', [ME]));
        await d.until((x) => x.secrets.has('spiffe://example.org/later'));
        assert.equal(d.nacks, 0);
        assert.equal(new Set(d.responses.map((r) => r.nonce)).size, d.responses.length);
      } finally {
        d.cancel();
      }
    });

    it('skips a name whose version the reconnecting client already holds (initial_resource_versions)', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const d1 = sds.delta();
      d1.subscribe(['ROOTCA', 'default']);
      await d1.until((x) => x.secrets.size === 2);
      d1.cancel();
      const d2 = sds.delta();
      try {
        d2.subscribe(['ROOTCA', 'default'], { ROOTCA: d1.secrets.get('ROOTCA')!.version, default: 'stale' });
        await d2.until((x) => x.responses.length === 1);
        assert.deepEqual(d2.responses[0]?.resources.map((r) => r.name), ['default']);
        await quiet();
        assert.equal(d2.responses.length, 1);
      } finally {
        d2.cancel();
      }
    });
  });

  describe('callers', () => {
    it('gives a caller holding no identity no secrets: streams stay silent, Fetch is PermissionDenied', async () => {
      h.view.addIdentity(await h.authority.issue('/someone', ['unix:uid:4242']));
      const w = watch('ROOTCA', 'validation');
      const c = watch('default', 'certificate');
      const d = sds.delta();
      d.subscribe(['ALL']);
      await d.until((x) => x.responses.length === 1);
      await quiet();
      assert.deepEqual([w.responses.length, c.responses.length, w.status, c.status], [0, 0, undefined, undefined]);
      assert.deepEqual(d.responses.map((r) => r.resources.length), [0]);
      assert.deepEqual(d.responses[0]?.removed_resources, ['ALL']);
      d.cancel();
      await assert.rejects(sds.fetch(['ROOTCA']), { code: status.PERMISSION_DENIED, details: 'no identity issued' });
    });

    it('ends a stream that sends bytes no DiscoveryRequest decodes from, and keeps serving', async () => {
      h.view.addIdentity(await h.authority.issue('/w', [ME]));
      const m = envoySdsMethods()['StreamSecrets']!;
      const raw = sds.client.makeBidiStreamRequest(m.path, (b: Buffer) => b, (b: Buffer) => b) as ClientDuplexStream<Buffer, Buffer>;
      const ended = new Promise<StatusObject>((resolve) => raw.on('status', resolve));
      raw.on('error', () => undefined);
      // A tag byte with no field number after it: protobufjs refuses it (index out of range).
      raw.write(Buffer.from([0xff, 0xff]));
      assert.notEqual((await ended).code, status.OK);
      assert.equal(leafId(await watch('default', 'certificate').ready()), 'spiffe://example.org/w');
    });

    it('stops pushing to a connection whose process is no longer the one that connected', async () => {
      // The start-time pin alone, with the kernel's answer under the test's control.
      let startTime = '1000';
      const view = new FakeWorkloadView(await testAuthority());
      view.addIdentity(await view.authority.issue('/w', [ME], { entryId: 'e1' }));
      const h2 = await sdsHarness({ view, peerTracking: { usePidfd: false, readStartTime: () => startTime } });
      const sds2 = new EnvoySdsClient(h2.socketPath);
      try {
        const w = sds2.watch('default', 'certificate');
        await w.ready();
        startTime = '2000';
        view.setIdentities([await view.authority.issue('/w', [ME], { entryId: 'e1' })]);
        await w.ended();
        assert.deepEqual([w.status?.code, w.status?.details], [status.UNAUTHENTICATED, 'could not verify existence of the original caller']);
        assert.equal(w.responses.length, 1, 'the rotated SVID was not sent');
      } finally {
        sds2.close();
        await h2.close();
      }
    });

    it('gives an unattested caller nothing: every method ends with Unavailable "workload attestation failed"', async () => {
      const broken: WorkloadAttestor = { type: 'broken', attest: async () => Promise.reject(new Error('cannot read /proc (test)')) };
      const view = new FakeWorkloadView(await testAuthority());
      view.addIdentity(await view.authority.issue('/w', [ME]));
      const h2 = await sdsHarness({ attestors: [broken], view });
      const sds2 = new EnvoySdsClient(h2.socketPath);
      try {
        const w = sds2.watch('default', 'certificate');
        const d = sds2.delta();
        d.subscribe(['default']);
        await w.ended();
        await d.until((x) => x.status !== undefined);
        for (const s of [w.status, d.status]) assert.deepEqual([s?.code, s?.details], [status.UNAVAILABLE, 'workload attestation failed']);
        assert.deepEqual([w.responses.length, d.responses.length], [0, 0]);
        await assert.rejects(sds2.fetch(['default']), { code: status.UNAVAILABLE, details: 'workload attestation failed' });
        assert.equal(view.subscriberCount, 0);
      } finally {
        sds2.close();
        await h2.close();
      }
    });
  });
});
