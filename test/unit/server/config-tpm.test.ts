import assert from 'node:assert/strict';
import { ConfigError, resolveConfig, type ConfigSources } from '../../../server/config/index.js';

const problems = (sources: ConfigSources): readonly string[] => {
  try {
    resolveConfig(sources);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a config error');
};

describe('server config: nodeAttestors.tpm', () => {
  const base = { trustDomain: 'example.org' };
  const hash = 'AB'.repeat(32);

  it('reads ekCaBundles (absolute), ekHashAllowList (lower case) and pcrPolicy', () => {
    const c = resolveConfig({
      cwd: '/etc/sigil',
      file: { ...base, nodeAttestors: { tpm: { ekCaBundles: ['ca/ek.pem'], ekHashAllowList: [hash], pcrPolicy: { sha256: { '7': 'CD'.repeat(32) } } } } },
    });
    assert.deepEqual(c.nodeAttestors.tpm, {
      ekCaBundles: ['/etc/sigil/ca/ek.pem'],
      ekHashAllowList: ['ab'.repeat(32)],
      pcrPolicy: { sha256: { 7: 'cd'.repeat(32) } },
    });
  });

  it('--tpm-ek-ca (repeatable) replaces ekCaBundles and turns the attestor on by itself', () => {
    const c = resolveConfig({ cwd: '/x', file: { ...base, nodeAttestors: { tpm: { ekCaBundles: ['file.pem'] } } }, flags: { tpmEkCa: ['a.pem', '/b.pem'] } });
    assert.deepEqual(c.nodeAttestors.tpm?.ekCaBundles, ['/x/a.pem', '/b.pem']);
    assert.deepEqual(resolveConfig({ cwd: '/x', file: base, flags: { tpmEkCa: ['a.pem'] } }).nodeAttestors.tpm, {
      ekCaBundles: ['/x/a.pem'], ekHashAllowList: [], pcrPolicy: {},
    });
    assert.equal(resolveConfig({ file: base }).nodeAttestors.tpm, undefined);
  });

  it('refuses a tpm section that could never attest, and malformed values, naming the key', () => {
    assert.deepEqual(problems({ file: { ...base, nodeAttestors: { tpm: { pcrPolicy: { sha256: { '7': '00'.repeat(32) } } } } } }), [
      'config: nodeAttestors.tpm: needs ekCaBundles (or --tpm-ek-ca) or ekHashAllowList: with neither, no TPM could ever attest',
    ]);
    assert.deepEqual(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: [hash], pcrPolicy: { sha256: { '7': '00'.repeat(20) } } } } } }), [
      'config: nodeAttestors.tpm.pcrPolicy.sha256.7: a sha256 PCR value has 64 hex digits, not 40',
    ]);
    assert.match(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: ['xyz'] } } } })[0]!, /^config: nodeAttestors\.tpm\.ekHashAllowList\[0\]: must be a SHA-256 hex digest/);
    assert.match(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: [hash], pcrPolicy: { sha256: { '24': '00'.repeat(32) } } } } } })[0]!, /PCR indices are 0 to 23/);
    assert.match(problems({ file: { ...base, nodeAttestors: { tmp: {} } } })[0]!, /nodeAttestors.*tmp/);
  });
});
