import assert from 'node:assert/strict';
import { parseYamlConfig, resolveConfig } from '../../../agent/config/index.js';
import { DEFAULT_AGENT_SOCKET_PATH } from '../../../spiffe/workloadapi/constants.js';
import { configProblems } from '../../support/agent-config.js';

const problems = configProblems;

describe('agent config', () => {
  const base = { trustDomain: 'example.org', insecureBootstrap: true };

  it('fills in the defaults, with paths made absolute', () => {
    const c = resolveConfig({ file: base, cwd: '/srv' });
    assert.equal(c.trustDomain.name, 'example.org');
    assert.deepEqual(c.serverAddress, { host: '127.0.0.1', port: 8081 });
    assert.equal(c.socketPath, DEFAULT_AGENT_SOCKET_PATH);
    assert.equal(c.dataDir, '/srv/.sigil/agent');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.workloadKeyType, 'ec-p256');
    assert.deepEqual(c.bootstrap, { kind: 'insecure' });
    assert.deepEqual(c.workloadAttestors, { unix: {} });
    assert.equal(c.joinToken, undefined);
  });

  it('takes flags over the file', () => {
    const file = parseYamlConfig(
      'trustDomain: a.org\nserverAddress: server.a.org:9000\ntrustBundle: /etc/a.pem\nlogLevel: DEBUG\nworkloadKeyType: ec-p384\n',
      'agent.yaml',
    );
    const c = resolveConfig({ file, flags: { trustDomain: 'b.org', serverAddress: '[::1]:8081', joinToken: 'tok' }, cwd: '/x' });
    assert.equal(c.trustDomain.name, 'b.org');
    assert.deepEqual(c.serverAddress, { host: '::1', port: 8081 });
    assert.deepEqual(c.bootstrap, { kind: 'bundle', path: '/etc/a.pem' });
    assert.equal(c.logLevel, 'debug');
    assert.equal(c.workloadKeyType, 'ec-p384');
    assert.equal(c.joinToken, 'tok');
  });

  it('names unknown keys by their full path, with a suggestion', () => {
    const p = problems({ file: { ...base, server_address: 'x:1', workloadAttestors: { unix: { discoverWorkloadPth: true } } } });
    assert.deepEqual([...p].sort(), [
      'config: server_address: unknown key (did you mean serverAddress?)',
      'config: workloadAttestors.unix.discoverWorkloadPth: unknown key (did you mean discoverWorkloadPath?)',
    ]);
  });

  it('reports every bad value, naming the flag that gave it', () => {
    const p = problems({ file: { ...base, workloadKeyType: 'ed25519' }, flags: { serverAddress: 'nope', logLevel: 'loud' } });
    assert.ok(p.some((l) => l.startsWith('config: workloadKeyType: "ed25519" is not one of ec-p256, ec-p384, rsa-2048')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('config: --server-address: "nope" is not HOST:PORT')), p.join('\n'));
    assert.ok(p.some((l) => l.startsWith('config: --log-level: "loud" is not one of')), p.join('\n'));
  });

  it('requires the trust domain and one way to trust the server, not two', () => {
    assert.deepEqual(problems({ file: {} }), [
      'config: trustDomain: is required: set it in the config file or with --trust-domain',
      'config: trustBundle: is required to trust the server: set trustBundle (--trust-bundle FILE) or insecureBootstrap (--insecure-bootstrap)',
    ]);
    assert.match(problems({ file: { ...base, trustBundle: 'b.pem' } })[0]!, /trustBundle: cannot be combined with insecureBootstrap/);
    assert.match(problems({ file: { trustDomain: 'a.org', trustBundle: 'b.pem' }, flags: { insecureBootstrap: true } })[0]!, /--insecure-bootstrap/);
  });

  it('turns the unix attestor on for an empty block and accepts its settings', () => {
    const c = resolveConfig({ file: parseYamlConfig('trustDomain: a.org\ninsecureBootstrap: true\nworkloadAttestors:\n  unix:\n', 'f') });
    assert.deepEqual(c.workloadAttestors, { unix: {} });
    const d = resolveConfig({ file: { ...base, workloadAttestors: { unix: { discoverWorkloadPath: true, workloadSizeLimit: -1 } } } });
    assert.deepEqual(d.workloadAttestors, { unix: { discoverWorkloadPath: true, workloadSizeLimit: -1 } });
    assert.deepEqual(resolveConfig({ file: { ...base, workloadAttestors: {} } }).workloadAttestors, {});
  });

  it('refuses a socket path longer than a Unix socket allows', () => {
    assert.match(problems({ file: base, flags: { socketPath: `/tmp/${'x'.repeat(120)}` } })[0]!, /^config: --socket-path: .* is 125 bytes/);
  });
});
