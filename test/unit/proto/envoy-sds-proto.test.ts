/**
 * proto/envoy (sigil's SDS subset) against Envoy's own protos from @grpc/grpc-js-xds: the same
 * gRPC paths and streaming kinds, and messages that cross between the two byte for byte — a
 * request as Envoy encodes it (with every field sigil leaves out) decodes in the subset, and the
 * subset encodes a response (Anys nested two deep) to the very bytes Envoy's protos make of it.
 */
import assert from 'node:assert/strict';
import type { MethodDefinition } from '@grpc/proto-loader';
import { sdsDefinition } from '../../../agent/sds/index.js';
import { envoyNode, envoySdsMethods, SECRET_TYPE, SPIFFE_VALIDATOR_TYPE } from '../../support/envoy-sds-client.js';

type Method = MethodDefinition<object, object>;

describe('proto: Envoy SDS subset', () => {
  const ours = sdsDefinition() as unknown as Record<string, Method>;
  const envoy = envoySdsMethods();

  it('has the same methods, paths and streaming kinds as Envoy', () => {
    assert.deepEqual(Object.keys(ours).sort(), Object.keys(envoy).sort());
    for (const name of Object.keys(envoy)) {
      const a = ours[name]!;
      const b = envoy[name]!;
      assert.deepEqual([a.path, a.requestStream, a.responseStream], [b.path, b.requestStream, b.responseStream], name);
    }
    assert.equal(ours['StreamSecrets']?.path, '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets');
  });

  it("decodes Envoy's request, skipping what it does not declare", () => {
    const bytes = envoy['StreamSecrets']!.requestSerialize({
      version_info: '3', node: envoyNode({ disableSpiffeCertValidation: true, version: [1, 30, 2] }), resource_names: ['default'],
      type_url: SECRET_TYPE, response_nonce: 'abc',
      error_detail: { code: 13, message: 'rejected', details: [{ '@type': 'type.googleapis.com/google.rpc.Status', code: 1 }] },
    });
    const req = ours['StreamSecrets']!.requestDeserialize(bytes) as Record<string, unknown>;
    assert.deepEqual(
      [req['version_info'], req['resource_names'], req['type_url'], req['response_nonce'], req['error_detail']],
      ['3', ['default'], SECRET_TYPE, 'abc', { code: 13, message: 'rejected' }],
    );
    const node = req['node'] as Record<string, unknown>;
    assert.deepEqual(node['user_agent_build_version'], { version: { major_number: 1, minor_number: 30, patch: 2 } });
    assert.deepEqual((node['metadata'] as { fields: Record<string, unknown> }).fields['disable_spiffe_cert_validation'], { boolValue: true, kind: 'boolValue' });
  });

  it('encodes responses Envoy decodes to the same fields and bytes', () => {
    const res = {
      version_info: '1', type_url: SECRET_TYPE, nonce: 'n', control_plane: { identifier: 'sigil-agent' },
      resources: [
        { '@type': SECRET_TYPE, name: 'ALL', validation_context: { custom_validator_config: { name: 'envoy.tls.cert_validator.spiffe', typed_config: {
          '@type': SPIFFE_VALIDATOR_TYPE, trust_domains: [{ name: 'example.org', trust_bundle: { inline_bytes: Buffer.from('PEM') } }],
        } } } },
        { '@type': SECRET_TYPE, name: 'default', tls_certificate: { certificate_chain: { inline_bytes: Buffer.from('C') }, private_key: { inline_bytes: Buffer.from('K') } } },
      ],
    };
    const bytes = ours['StreamSecrets']!.responseSerialize(res);
    const decoded = envoy['StreamSecrets']!.responseDeserialize(bytes) as { resources: Record<string, unknown>[] };
    const all = decoded.resources[0] as { validation_context: { custom_validator_config: { typed_config: { '@type': string; trust_domains: { name: string; trust_bundle: { inline_bytes: Buffer } }[] } } } };
    const cfg = all.validation_context.custom_validator_config.typed_config;
    assert.equal(cfg['@type'], SPIFFE_VALIDATOR_TYPE);
    assert.equal(cfg.trust_domains[0]?.trust_bundle.inline_bytes.toString(), 'PEM');
    assert.equal((decoded.resources[1] as { tls_certificate: { private_key: { inline_bytes: Buffer } } }).tls_certificate.private_key.inline_bytes.toString(), 'K');
    assert.ok(envoy['StreamSecrets']!.responseSerialize(res).equals(bytes), "Envoy's protos encode the same message to the same bytes");

    const delta = { system_version_info: '2', type_url: SECRET_TYPE, nonce: 'd', removed_resources: ['gone'], resources: [{ name: 'default', version: 'v', resource: res.resources[1] }] };
    const deltaBytes = ours['DeltaSecrets']!.responseSerialize(delta);
    assert.ok(envoy['DeltaSecrets']!.responseSerialize(delta).equals(deltaBytes));
    const back = envoy['DeltaSecrets']!.responseDeserialize(deltaBytes) as Record<string, unknown>;
    assert.deepEqual([back['removed_resources'], (back['resources'] as { name: string; version: string }[]).map((r) => [r.name, r.version])], [['gone'], [['default', 'v']]]);
  });
});
