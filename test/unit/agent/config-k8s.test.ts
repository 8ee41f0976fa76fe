/**
 * The k8s attestor's agent config: `--workload-attestor` choosing attestors over the file's, the
 * kubelet flags over `workloadAttestors.k8s`, paths made absolute, and mistakes named by flag or key.
 */
import assert from 'node:assert/strict';
import { parseYamlConfig, resolveConfig, type ConfigSources } from '../../../agent/config/index.js';
import { configProblems } from '../../support/agent-config.js';

const problems = configProblems;

describe('agent config: k8s workload attestor', () => {
  const base = { trustDomain: 'example.org', insecureBootstrap: true };

  it('reads workloadAttestors.k8s from YAML, with relative files made absolute', () => {
    const file = parseYamlConfig(
      [
        'trustDomain: a.org', 'insecureBootstrap: true', 'workloadAttestors:', '  unix:', '  k8s:',
        '    kubeletUrl: https://node-1:10250', '    kubeletCa: ca.crt', '    kubeletTokenFile: /t/token',
        '    nodeName: node-1', '    retryTimeoutMs: 2000', '',
      ].join('\n'),
      'agent.yaml',
    );
    const c = resolveConfig({ file, cwd: '/etc/sigil' });
    assert.deepEqual(c.workloadAttestors, {
      unix: {},
      k8s: { kubeletUrl: 'https://node-1:10250', kubeletCa: '/etc/sigil/ca.crt', kubeletTokenFile: '/t/token', nodeName: 'node-1', retryTimeoutMs: 2000 },
    });
  });

  it('--workload-attestor chooses exactly the attestors, keeping their file settings, with kubelet flags over them', () => {
    const file = { ...base, workloadAttestors: { unix: { discoverWorkloadPath: true }, k8s: { kubeletUrl: 'https://a:10250', nodeName: 'a' } } };
    const c = resolveConfig({
      file,
      flags: { workloadAttestor: ['k8s', 'unix'], kubeletUrl: 'http://127.0.0.1:10255', skipKubeletVerification: undefined },
      cwd: '/x',
    });
    assert.deepEqual(c.workloadAttestors, { unix: { discoverWorkloadPath: true }, k8s: { kubeletUrl: 'http://127.0.0.1:10255', nodeName: 'a' } });
    assert.deepEqual(resolveConfig({ file, flags: { workloadAttestor: ['k8s'] } }).workloadAttestors, { k8s: { kubeletUrl: 'https://a:10250', nodeName: 'a' } });
    const flagsOnly = resolveConfig({
      file: base,
      flags: { workloadAttestor: ['unix', 'k8s'], kubeletCa: 'ca.pem', kubeletTokenFile: 'tok', skipKubeletVerification: undefined, nodeName: 'n1' },
      cwd: '/run',
    });
    assert.deepEqual(flagsOnly.workloadAttestors, { unix: {}, k8s: { kubeletCa: '/run/ca.pem', kubeletTokenFile: '/run/tok', nodeName: 'n1' } });
  });

  it('names an unknown attestor and kubelet flags without the k8s attestor', () => {
    assert.deepEqual(problems({ file: base, flags: { workloadAttestor: ['unix', 'docker'] } }), [
      'config: --workload-attestor: "docker" is not a workload attestor; use one of unix, k8s',
    ]);
    assert.deepEqual(problems({ file: base, flags: { kubeletUrl: 'https://n:10250', nodeName: 'n' } }), [
      'config: --kubelet-url, --node-name: the k8s workload attestor is not enabled; add --workload-attestor k8s (and unix, to keep it) or workloadAttestors.k8s in the file',
    ]);
  });

  it('reports contradictory or incomplete kubelet settings, naming key and flag', () => {
    const k8s = (over: Record<string, unknown>): ConfigSources => ({ file: { ...base, workloadAttestors: { k8s: over } } });
    assert.deepEqual(problems(k8s({ kubeletClientCert: '/c.pem' })), [
      'config: workloadAttestors.k8s: kubeletClientCert (--kubelet-client-cert) and kubeletClientKey (--kubelet-client-key) go together: give both or neither',
    ]);
    assert.deepEqual(problems(k8s({ kubeletUrl: 'http://n:10255', kubeletTokenFile: '/t' })), [
      'config: workloadAttestors.k8s: kubeletUrl (--kubelet-url) is the read-only port (http://), which takes no TLS or credentials; remove kubeletTokenFile or use https://HOST:10250',
    ]);
    assert.deepEqual(problems(k8s({ kubeletUrl: 'node-1:10250' })), [
      'config: workloadAttestors.k8s: kubeletUrl (--kubelet-url): "node-1:10250" is not an http:// or https:// URL with a host (e.g. https://node-1:10250, http://127.0.0.1:10255)',
    ]);
    assert.deepEqual(problems(k8s({ kubeletCa: '/ca', skipKubeletVerification: 'true' })), [
      'config: workloadAttestors.k8s: kubeletCa (--kubelet-ca) and skipKubeletVerification (--skip-kubelet-verification) contradict each other: keep one',
    ]);
    assert.deepEqual(problems(k8s({ retryTimeoutMs: -5 })), ['config: workloadAttestors.k8s: retryTimeoutMs: must be a whole number of milliseconds, 0 or more (got -5)']);
    assert.deepEqual(problems(k8s({ kubeletUrll: 'x' })), ['config: workloadAttestors.k8s.kubeletUrll: unknown key (did you mean kubeletUrl?)']);
  });

  it('names a bad kubelet flag value by its flag', () => {
    const p = problems({ file: base, flags: { workloadAttestor: ['k8s'], skipKubeletVerification: 'yes' as unknown as boolean } });
    assert.equal(p.length, 1);
    assert.match(p[0]!, /^config: --skip-kubelet-verification: .*"yes" is not true or false/);
  });
});
