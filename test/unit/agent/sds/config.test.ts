/** The agent config's `sds` block: SPIRE's keys in camelCase, defaults, and names that cannot work. */
import assert from 'node:assert/strict';
import { parseYamlConfig, resolveConfig } from '../../../../agent/config/index.js';
import { configProblems } from '../../../support/agent-config.js';

const base = { trustDomain: 'example.org', insecureBootstrap: true };

const problems = (file: unknown): readonly string[] => configProblems({ file });

describe('agent config: sds', () => {
  it("defaults to SPIRE's names with the SPIFFE validator on", () => {
    assert.deepEqual(resolveConfig({ file: base }).sds, {
      defaultSvidName: 'default', defaultBundleName: 'ROOTCA', defaultAllBundlesName: 'ALL', disableSpiffeCertValidation: false,
    });
  });

  it('takes every key from the file, an empty block meaning the defaults', () => {
    const file = parseYamlConfig(
      'trustDomain: example.org\ninsecureBootstrap: true\nsds:\n  defaultSvidName: svid\n  defaultBundleName: bundle\n  defaultAllBundlesName: every\n  disableSpiffeCertValidation: "true"\n',
      'agent.yaml',
    );
    assert.deepEqual(resolveConfig({ file }).sds, {
      defaultSvidName: 'svid', defaultBundleName: 'bundle', defaultAllBundlesName: 'every', disableSpiffeCertValidation: true,
    });
    assert.equal(resolveConfig({ file: { ...base, sds: null } }).sds.defaultSvidName, 'default');
  });

  it('refuses names that collide, are empty or are SPIFFE IDs, and unknown keys', () => {
    assert.deepEqual(problems({ ...base, sds: { defaultAllBundlesName: 'ROOTCA' } }), [
      'config: sds.defaultAllBundlesName: "ROOTCA" is already the name of sds.defaultBundleName; give each a different name',
    ]);
    assert.deepEqual(problems({ ...base, sds: { defaultSvidName: ' ', defaultBundleName: 'spiffe://example.org' } }), [
      'config: sds.defaultSvidName: must not be empty',
      'config: sds.defaultBundleName: "spiffe://example.org" must not be a SPIFFE ID: those names are taken by trust domains and identities',
    ]);
    assert.deepEqual(problems({ ...base, sds: { default_svid_name: 'x' } }), ['config: sds.default_svid_name: unknown key (did you mean defaultSvidName?)']);
    assert.deepEqual(problems({ ...base, sds: { disableSpiffeCertValidation: 'yes' } }), ['config: sds.disableSpiffeCertValidation: "yes" is not true or false']);
  });
});
