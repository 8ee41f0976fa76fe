/** `sigil server run` as a process: the ready line, the logs, the signals, and refusing bad config. */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import { FIXTURES, serverArgs, sigil, useServers } from './harness.js';

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('sigil server run: lifecycle', function () {
  this.timeout(60_000);
  const servers = useServers();

  it('prints one ready line with the port it chose, logs JSON, and exits 0 on SIGTERM removing its socket', async () => {
    const dir = servers.tmp();
    const p = servers.start(serverArgs(dir));
    const ready = await p.ready();
    assert.deepEqual(ready, { trustDomain: 'example.org', host: '127.0.0.1', port: ready.port, adminSocket: join(dir, 'admin.sock') });
    assert.notEqual(ready.port, 0);
    assert.ok(await connects(ready.host, ready.port), 'the agent API port accepts connections');
    assert.equal(statSync(ready.adminSocket).isSocket(), true);
    assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);

    const exit = await p.stop('SIGTERM');
    assert.deepEqual(exit, { code: 0, signal: null }, p.output());
    assert.equal(p.stderr.match(/^sigil server ready: /gm)?.length, 1, 'exactly one ready line');
    assert.equal(existsSync(ready.adminSocket), false, 'the admin socket is removed');
    const messages = p.logs().map((l) => l['msg']);
    for (const m of ['server: started', 'server: ready', 'server: SIGTERM received, stopping', 'server: stopped']) {
      assert.ok(messages.includes(m), `log has "${m}": ${messages.join(' | ')}`);
    }
    const line = p.logs().find((l) => l['msg'] === 'server: ready')!;
    assert.equal(line['level'], 'info');
    assert.equal(typeof line['time'], 'string');
    // The agent API logs pino's way round (fields, then message): the logger takes both.
    const listening = p.logs().find((l) => l['msg'] === 'agentapi: listening');
    assert.equal(listening?.['port'], ready.port, 'the agent API log line has its fields and message');
    assert.equal(p.logs().find((l) => l['msg'] === 'created an X.509 CA')?.['component'], 'ca');
  });

  it('exits 0 on SIGINT too', async () => {
    const p = servers.start(serverArgs(servers.tmp()));
    await p.ready();
    assert.deepEqual(await p.stop('SIGINT'), { code: 0, signal: null }, p.output());
  });

  it('logs at the level asked for', async () => {
    const p = servers.start([...serverArgs(servers.tmp()), '--log-level', 'warn']);
    await p.ready();
    assert.deepEqual(await p.stop(), { code: 0, signal: null });
    assert.deepEqual(p.logs().filter((l) => l['level'] === 'info'), []);
  });

  it('takes its settings from --config, and flags over them', async () => {
    const dir = servers.tmp();
    const p = servers.start(['--config', join(FIXTURES, 'minimal.yaml'), ...serverArgs(dir, 'flag.example')]);
    assert.equal((await p.ready()).trustDomain, 'flag.example');
    assert.equal((await p.stop()).code, 0);
  });

  it('puts serverDnsNames from the file in the agent API certificate', async () => {
    const dir = servers.tmp();
    const config = join(dir, 'server.yaml');
    writeFileSync(config, 'trustDomain: example.org\nserverDnsNames: [sigil.test, sigil-server.internal]\n');
    const p = servers.start(['--config', config, ...serverArgs(dir, 'example.org')]);
    const ready = await p.ready();
    const san = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: ready.host, port: ready.port, rejectUnauthorized: false, ALPNProtocols: ['h2'] }, () => {
        resolve(s.getPeerCertificate().subjectaltname ?? '');
        s.destroy();
      });
      s.once('error', reject);
    });
    assert.match(san, /URI:spiffe:\/\/example\.org\/sigil\/server/);
    assert.match(san, /DNS:sigil\.test/);
    assert.match(san, /DNS:sigil-server\.internal/);
    assert.equal((await p.stop()).code, 0);
  });

  it('answers `sigil server healthcheck` with its datastore and CA checks', async () => {
    const p = servers.start(serverArgs(servers.tmp()));
    const { adminSocket } = await p.ready();
    const r = sigil('server', 'healthcheck', '--admin-socket', adminSocket, '--verbose');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok +datastore: sqlite$/m);
    assert.match(r.stdout, /^ok +ca: X\.509 CA [0-9a-f]+ until /m);
    assert.equal((await p.stop()).code, 0);
  });

  it('refuses an invalid config file: exit 1, the key named on stderr, no data directory made', async () => {
    const dir = servers.tmp();
    const p = servers.start(['--config', join(FIXTURES, 'invalid-key-type.yaml'), '--data-dir', join(dir, 'data')]);
    const exit = await p.exited;
    assert.deepEqual(exit, { code: 1, signal: null }, p.output());
    assert.equal(p.stderr, 'config: ca.keyType: "ec-p521" is not one of ec-p256, ec-p384, rsa-2048\n');
    assert.equal(p.stdout, '');
    assert.deepEqual(readdirSync(dir), []);
  });

  it('refuses an unknown key and a bad flag together, naming both', async () => {
    const dir = servers.tmp();
    const p = servers.start(['--config', join(FIXTURES, 'unknown-nested-key.yaml'), '--bind', 'nowhere', '--data-dir', join(dir, 'd')]);
    assert.equal((await p.exited).code, 1);
    assert.equal(
      p.stderr,
      'config: ca.keyManager.keyPath: unknown key (did you mean keysPath?)\n' +
        'config: --bind: "nowhere" is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)\n',
    );
    assert.deepEqual(readdirSync(dir), []);
  });

  it('refuses to run without a trust domain', async () => {
    const p = servers.start(['--data-dir', join(servers.tmp(), 'd')]);
    assert.equal((await p.exited).code, 1);
    assert.equal(p.stderr, 'config: trustDomain: is required: set it in the config file or with --trust-domain\n');
  });

  it('exits 1 saying why when it cannot start, leaving no socket', async () => {
    const dir = servers.tmp();
    const p = servers.start([...serverArgs(dir), '--datastore', 'postgres://nobody@127.0.0.1:1/none']);
    assert.deepEqual(await p.exited, { code: 1, signal: null }, p.output());
    assert.match(p.stderr, /^sigil server: failed to start: datastore: /m);
    assert.equal(existsSync(join(dir, 'admin.sock')), false);
  });

  it('refuses to share an admin socket with a running server', async () => {
    const dir = servers.tmp();
    const first = servers.start(serverArgs(dir));
    await first.ready();
    const second = servers.start([...serverArgs(dir), '--data-dir', join(dir, 'data2')]);
    assert.equal((await second.exited).code, 1, second.output());
    assert.match(second.stderr, /another server is already listening on/);
    assert.equal(statSync(join(dir, 'admin.sock')).isSocket(), true, "the first server's socket survives");
    assert.equal((await first.stop()).code, 0);
  });
});
