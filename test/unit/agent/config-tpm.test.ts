import assert from 'node:assert/strict';
import { AgentConfigError, parseYamlConfig, resolveConfig, type ConfigSources } from '../../../agent/config/index.js';

const problems = (sources: ConfigSources): readonly string[] => {
  try {
    resolveConfig(sources);
  } catch (err) {
    if (err instanceof AgentConfigError) return err.problems;
    throw err;
  }
  assert.fail('expected a config error');
};

describe('agent config: nodeAttestor tpm', () => {
  const base = { trustDomain: 'example.org', insecureBootstrap: true };

  it('reads nodeAttestor from YAML, with defaults for what is left out', () => {
    const file = parseYamlConfig('nodeAttestor:\n  type: tpm\n  tcti: "swtpm:host=127.0.0.1,port=2321"\n  pcrs: [7, 0, 7]\n  pcrBank: SHA256\n', 'a.yaml');
    const c = resolveConfig({ file: { ...base, ...(file as object) } });
    assert.deepEqual(c.tpm, { tcti: 'swtpm:host=127.0.0.1,port=2321', pcrs: [0, 7], pcrBank: 'sha256', ekAlgorithm: 'rsa' });
    assert.equal(c.joinToken, undefined);
    assert.deepEqual(resolveConfig({ file: { ...base, nodeAttestor: { type: 'tpm' } } }).tpm, {
      tcti: 'device:/dev/tpmrm0', pcrs: [0, 7], pcrBank: 'sha256', ekAlgorithm: 'rsa',
    });
  });

  it('takes --node-attestor and --tpm-tcti over the file', () => {
    const c = resolveConfig({
      file: { ...base, nodeAttestor: { type: 'tpm', tcti: 'device:/dev/tpm0', ekAlgorithm: 'ecc' } },
      flags: { nodeAttestor: 'tpm', tpmTcti: 'swtpm:host=127.0.0.1,port=9' },
    });
    assert.deepEqual(c.tpm, { tcti: 'swtpm:host=127.0.0.1,port=9', pcrs: [0, 7], pcrBank: 'sha256', ekAlgorithm: 'ecc' });
  });

  it('names the flag or key that is wrong', () => {
    assert.deepEqual(problems({ file: base, flags: { nodeAttestor: 'tpm', joinToken: 'abc' } }), [
      'config: --join-token: cannot be combined with nodeAttestor type tpm: the TPM is the credential',
    ]);
    assert.deepEqual(problems({ file: base, flags: { tpmTcti: 'swtpm:port=1' } }), [
      'config: nodeAttestor.tcti: only applies to nodeAttestor type tpm (set it with --node-attestor tpm or nodeAttestor.type)',
    ]);
    assert.match(problems({ file: base, flags: { nodeAttestor: 'tpm2' } })[0]!, /^config: --node-attestor: "tpm2" is not one of join_token, tpm/);
    assert.match(problems({ file: { ...base, nodeAttestor: { type: 'tpm', pcrs: [24] } } })[0]!, /^config: nodeAttestor\.pcrs\[0\]: PCR indices are 0 to 23$/);
    assert.match(problems({ file: { ...base, nodeAttestor: { type: 'tpm', pcr: [1] } } })[0]!, /nodeAttestor.*pcr/);
  });
});
