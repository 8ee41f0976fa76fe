/**
 * agent/sds naming and validation contexts: what each resource name means for a caller, what an
 * empty list stands for, how the node decides the validator, how secrets are built and versioned.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import type { IdentitySnapshot } from '../../../../agent/cache/workload-view.js';
import { resolveName, wildcardNames } from '../../../../agent/sds/names.js';
import { metadataDisablesValidator, supportsSpiffeValidator, useSpiffeValidator } from '../../../../agent/sds/node.js';
import type { NodeMsg } from '../../../../agent/sds/messages.js';
import { buildSecret, secretsFor, secretVersion } from '../../../../agent/sds/secrets.js';
import { DEFAULT_SDS_SETTINGS } from '../../../../agent/sds/settings.js';
import { TestAuthority } from '../../../fakes/workload-view.js';

const S = DEFAULT_SDS_SETTINGS;

function node(o: Partial<NodeMsg> = {}): NodeMsg {
  return { id: 'n', cluster: 'c', metadata: null, user_agent_name: 'envoy', ...o };
}

describe('agent/sds: names, node and secrets', () => {
  let own: TestAuthority;
  let other: TestAuthority;
  let third: TestAuthority;
  let snap: IdentitySnapshot;
  before(async () => {
    own = await TestAuthority.create('example.org');
    other = await TestAuthority.create('other.org');
    third = await TestAuthority.create('aaa.org');
    snap = {
      version: 7,
      identities: [await own.issue('/first', []), await own.issue('/second', [])],
      bundle: own.bundleView(),
      federatedBundles: new Map([['other.org', other.bundleView()], ['aaa.org', third.bundleView()]]),
    };
  });

  describe('resolveName', () => {
    it('maps default, SPIFFE IDs, ROOTCA, trust domain IDs and ALL as SPIRE does', () => {
      const first = resolveName('default', snap, S);
      assert.equal(first?.kind === 'certificate' && first.identity.spiffeId, 'spiffe://example.org/first');
      const second = resolveName('spiffe://example.org/second', snap, S);
      assert.equal(second?.kind === 'certificate' && second.identity.spiffeId, 'spiffe://example.org/second');
      for (const name of ['ROOTCA', 'spiffe://example.org']) {
        assert.deepEqual(resolveName(name, snap, S), { kind: 'bundles', bundles: [snap.bundle], all: false }, name);
      }
      assert.deepEqual(resolveName('spiffe://other.org', snap, S), { kind: 'bundles', bundles: [other.bundleView()], all: false });
      const all = resolveName('ALL', snap, S);
      assert.deepEqual(all?.kind === 'bundles' && [all.all, all.bundles.map((b) => b.trustDomain)], [true, ['example.org', 'aaa.org', 'other.org']]);
    });

    it('knows nothing by a name the caller does not hold, by an unknown trust domain, or when it holds no identity', () => {
      for (const name of ['spiffe://example.org/third', 'spiffe://unknown.org', 'rootca', 'spiffe://example.org/']) assert.equal(resolveName(name, snap, S), undefined, name);
      const empty = { ...snap, identities: [] };
      for (const name of ['default', 'ROOTCA', 'ALL', 'spiffe://example.org']) assert.equal(resolveName(name, empty, S), undefined, name);
      assert.deepEqual(wildcardNames(empty), []);
    });

    it('uses the configured aliases only', () => {
      const custom = { ...S, defaultSvidName: 'svid', defaultBundleName: 'bundle', defaultAllBundlesName: 'every' };
      assert.equal(resolveName('default', snap, custom), undefined);
      assert.equal(resolveName('svid', snap, custom)?.kind, 'certificate');
      assert.equal(resolveName('every', snap, custom)?.kind, 'bundles');
    });

    it('reads the wildcard as the bundles (own first, federated sorted) then the SPIFFE IDs held', () => {
      assert.deepEqual(wildcardNames(snap), [
        'spiffe://example.org', 'spiffe://aaa.org', 'spiffe://other.org', 'spiffe://example.org/first', 'spiffe://example.org/second',
      ]);
    });
  });

  describe('node', () => {
    it("reads disable_spiffe_cert_validation as a bool or as Go's ParseBool strings, ignoring anything else", () => {
      const md = (v: NodeMsg['metadata']): NodeMsg => node({ metadata: v });
      assert.equal(metadataDisablesValidator(md({ fields: { disable_spiffe_cert_validation: { boolValue: true } } })), true);
      for (const t of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(metadataDisablesValidator(md({ fields: { disable_spiffe_cert_validation: { stringValue: t } } })), true, t);
      for (const f of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(metadataDisablesValidator(md({ fields: { disable_spiffe_cert_validation: { stringValue: f } } })), false, f);
      for (const v of [{ stringValue: 'yes' }, { numberValue: 1 }]) assert.equal(metadataDisablesValidator(md({ fields: { disable_spiffe_cert_validation: v } })), undefined);
      assert.equal(metadataDisablesValidator(null), undefined);
    });

    it('takes Envoy 1.18 and later, or an Envoy that states no build version, to have the validator', () => {
      const v = (major: number, minor: number): NodeMsg => node({ user_agent_build_version: { version: { major_number: major, minor_number: minor, patch: 0 } } });
      assert.deepEqual([v(1, 17), v(1, 18), v(1, 35), v(2, 0), v(0, 99)].map(supportsSpiffeValidator), [false, true, true, true, false]);
      assert.equal(supportsSpiffeValidator(node({ user_agent_version: '1.10.0' })), true);
      assert.equal(supportsSpiffeValidator(undefined), true);
    });

    it('lets the node metadata override the config either way', () => {
      const on = node({ metadata: { fields: { disable_spiffe_cert_validation: { boolValue: false } } } });
      const off = node({ metadata: { fields: { disable_spiffe_cert_validation: { boolValue: true } } } });
      assert.deepEqual([useSpiffeValidator(on, true), useSpiffeValidator(off, false), useSpiffeValidator(node(), true), useSpiffeValidator(node(), false)], [true, false, false, true]);
    });
  });

  describe('secrets', () => {
    it('builds a tls_certificate with the PEM chain and the PKCS#8 PEM key', () => {
      const s = buildSecret('default', { kind: 'certificate', identity: snap.identities[0]! }, true);
      assert.ok('tls_certificate' in s);
      const chain = s.tls_certificate.certificate_chain.inline_bytes.toString();
      assert.ok(new X509Certificate(chain).raw.equals(snap.identities[0]!.certChainDer));
      assert.match(s.tls_certificate.private_key.inline_bytes.toString(), /^-----BEGIN PRIVATE KEY-----\n/);
    });

    it('builds ALL as one SPIFFE validator with trust domains sorted and named without spiffe://, and refuses it without the validator', () => {
      const source = resolveName('ALL', snap, S)!;
      const s = buildSecret('ALL', source, true);
      assert.ok('validation_context' in s && 'custom_validator_config' in s.validation_context);
      const cfg = s.validation_context.custom_validator_config;
      assert.equal(cfg.name, 'envoy.tls.cert_validator.spiffe');
      assert.deepEqual(cfg.typed_config.trust_domains.map((t) => t.name), ['aaa.org', 'example.org', 'other.org']);
      assert.ok(new X509Certificate(cfg.typed_config.trust_domains[2]!.trust_bundle.inline_bytes).raw.equals(other.caDer));
      assert.throws(() => buildSecret('ALL', source, false), /unable to use "SPIFFE validator" on Envoy below 1\.18/);
    });

    it('builds a single bundle as plain trusted_ca without the validator', () => {
      const s = buildSecret('ROOTCA', resolveName('ROOTCA', snap, S)!, false);
      assert.ok('validation_context' in s && 'trusted_ca' in s.validation_context);
      assert.ok(new X509Certificate(s.validation_context.trusted_ca.inline_bytes).raw.equals(own.caDer));
    });

    it('versions a secret by its content: same content, same version; any change, another', () => {
      const a = secretsFor(['default', 'ROOTCA', 'nope'], snap, S, true);
      const b = secretsFor(['default', 'ROOTCA'], { ...snap, version: 8 }, S, true);
      assert.deepEqual(a.missing, ['nope']);
      assert.deepEqual(a.found.map((f) => f.version), b.found.map((f) => f.version));
      assert.match(a.found[0]!.version, /^[0-9a-f]{16}$/);
      const plain = secretsFor(['ROOTCA'], snap, S, false);
      assert.notEqual(plain.found[0]!.version, a.found[1]!.version);
      const renamed = secretVersion({ ...a.found[0]!.secret, name: 'spiffe://example.org/first' });
      assert.notEqual(renamed, a.found[0]!.version);
    });
  });
});
