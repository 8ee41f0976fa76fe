/**
 * deploy/examples/envoy stays consistent with the agent: its agent.yaml loads with the agent's config
 * loader, Envoy dials the socket that config serves, every SDS secret it names is one the agent
 * serves to the workload the example's entry creates, and every sds_config is the same (one stream per
 * name, shared by the listener and the cluster).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseYamlConfig, resolveConfig } from '../../../agent/config/index.js';
import { resolveName } from '../../../agent/sds/names.js';
import { TestAuthority } from '../../fakes/workload-view.js';
import { REPO_ROOT } from '../../support/shared.js';

const DIR = join(REPO_ROOT, 'deploy', 'examples', 'envoy');

/** Every value under `key` anywhere in `node`. */
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const v of node) collect(v, key, out);
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

describe('deploy/examples/envoy', () => {
  const agent = resolveConfig({ file: parseYamlConfig(readFileSync(join(DIR, 'agent.yaml'), 'utf8'), 'agent.yaml') });
  const envoy = parse(readFileSync(join(DIR, 'envoy.yaml'), 'utf8')) as Record<string, unknown>;

  it("dials the agent's socket", () => {
    assert.deepEqual(collect(envoy, 'pipe'), [{ path: agent.socketPath }]);
  });

  it('names only secrets the agent serves to the example entry, through one identical sds_config', async () => {
    const entries = readFileSync(join(DIR, 'entries.sh'), 'utf8');
    const id = /^sigil server entry create .*\n\s+--spiffe-id (\S+)/m.exec(entries)?.[1];
    assert.equal(id, 'spiffe://example.org/ns/default/sa/web');
    const auth = await TestAuthority.create(agent.trustDomain.name);
    const snap = { version: 1, identities: [await auth.issue('/ns/default/sa/web', [])], bundle: auth.bundleView(), federatedBundles: new Map() };
    const configs = [...collect(envoy, 'tls_certificate_sds_secret_configs').flat(), ...collect(envoy, 'validation_context_sds_secret_config')] as {
      name: string;
      sds_config: unknown;
    }[];
    assert.equal(configs.length, 4);
    assert.deepEqual([...new Set(configs.map((c) => c.name))].sort(), ['spiffe://example.org', 'spiffe://example.org/ns/default/sa/web']);
    for (const c of configs) assert.notEqual(resolveName(c.name, snap, agent.sds), undefined, c.name);
    assert.equal(new Set(configs.map((c) => JSON.stringify(c.sds_config))).size, 1);
  });
});
