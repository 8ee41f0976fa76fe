/**
 * `sigil server run` with `ca.keyManager.type: pkcs11` on a SoftHSM2 token, as real processes
 * given the token's SOFTHSM2_CONF: a restart signs with the same token key; a missing token or a
 * wrong PIN stops the start with an error naming the token and never the PIN; a token that goes
 * away while the server runs makes the health check fail ("cannot sign") without stopping the
 * server, which signs again once the token is back.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';
import { serverArgs, sigil, useServers } from '../server/harness.js';

describe('sigil server run with the pkcs11 key manager (SoftHSM2)', function () {
  this.timeout(90_000);
  const servers = useServers();
  let token: SoftHsmToken;
  beforeEach(() => {
    token = createSoftHsmToken({ label: 'sigil-ca-proc' });
  });
  afterEach(() => token.cleanup());

  function configFile(dir: string, yaml: string): string {
    const path = join(dir, 'server.yaml');
    writeFileSync(path, yaml);
    return path;
  }

  function privateKeyLabels(): string[] {
    const r = token.pkcs11Tool('--token-label', token.tokenLabel, '--login', '--pin', token.pin, '--list-objects', '--type', 'privkey');
    assert.equal(r.status, 0, r.stderr);
    return [...r.stdout.matchAll(/label:\s+(\S+)/g)].map((m) => m[1]!).sort();
  }

  it('signs with the same token key after a restart, and never prints the PIN', async () => {
    const dir = servers.tmp();
    const args = ['--config', configFile(dir, token.caYaml()), ...serverArgs(dir)];
    const first = servers.start(args, { env: token.env });
    const { adminSocket } = await first.ready();
    const bundle = sigil('server', 'bundle', 'show', '--admin-socket', adminSocket, '--format', 'spiffe');
    assert.equal(bundle.status, 0, bundle.stderr);
    const health = sigil('server', 'healthcheck', '--admin-socket', adminSocket, '--verbose');
    assert.equal(health.status, 0, health.stderr);
    assert.match(health.stdout, /^ok {3}keyManager: token "sigil-ca-proc", 4 sessions, 2 key\(s\) sign$/m);
    assert.equal((await first.stop()).code, 0, first.output());
    const created = first.logs().find((l) => l['msg'] === 'created an X.509 CA');
    assert.equal(created?.['keyLocation'], 'pkcs11:token=sigil-ca-proc;object=sigil-x509-CA-A;type=private');
    assert.deepEqual(privateKeyLabels(), ['sigil-JWT-Signer-A', 'sigil-x509-CA-A']);

    const second = servers.start(args, { env: token.env });
    await second.ready();
    const again = sigil('server', 'bundle', 'show', '--admin-socket', adminSocket, '--format', 'spiffe');
    assert.equal(again.stdout, bundle.stdout, 'the same CA and JWT key are published');
    assert.equal((await second.stop()).code, 0, second.output());
    const messages = second.logs().map((l) => l['msg']);
    assert.ok(messages.includes('reusing the X.509 CA from the journal'), messages.join(' | '));
    assert.ok(messages.includes('reusing the JWT key from the journal'), messages.join(' | '));
    assert.deepEqual(privateKeyLabels(), ['sigil-JWT-Signer-A', 'sigil-x509-CA-A'], 'no new key was generated');
    for (const p of [first, second]) assert.ok(!p.output().includes(token.pin), 'the PIN is not in the output');
  });

  it('refuses to start on a token that is not there, naming it', async () => {
    const dir = servers.tmp();
    const config = configFile(dir, token.caYaml({ tokenLabel: 'no-such-token' }));
    const p = servers.start(['--config', config, ...serverArgs(dir)], { env: token.env });
    const exit = await p.exited;
    assert.notEqual(exit.code, 0);
    assert.match(p.stderr, /token "no-such-token" is not in PKCS#11 module \/usr\/lib\/softhsm\/libsofthsm2\.so \(it has "sigil-ca-proc"\)/);
    assert.ok(!p.output().includes(token.pin));
  });

  it('refuses to start with a wrong PIN, naming the token and where the PIN came from, not the PIN', async () => {
    const dir = servers.tmp();
    const wrong = `${token.pin}-wrong`;
    const pinFile = join(dir, 'wrong-pin');
    writeFileSync(pinFile, `${wrong}\n`);
    const fromFile = servers.start(['--config', configFile(dir, token.caYaml({ pinFile })), ...serverArgs(dir)], { env: token.env });
    assert.notEqual((await fromFile.exited).code, 0);
    assert.match(fromFile.stderr, new RegExp(`cannot log in to token "sigil-ca-proc": CKR_PIN_INCORRECT in C_Login; check the PIN in pinFile ${pinFile}`));

    const fromEnv = servers.start(['--config', configFile(dir, token.caYaml({ pinFile: undefined, pinEnv: 'SIGIL_TEST_HSM_PIN' })), ...serverArgs(dir)], {
      env: { ...token.env, SIGIL_TEST_HSM_PIN: wrong },
    });
    assert.notEqual((await fromEnv.exited).code, 0);
    assert.match(fromEnv.stderr, /cannot log in to token "sigil-ca-proc": CKR_PIN_INCORRECT in C_Login; check the PIN in environment variable SIGIL_TEST_HSM_PIN/);
    for (const p of [fromFile, fromEnv]) {
      assert.ok(!p.output().includes(wrong), `the wrong PIN is not in the output:\n${p.output()}`);
      assert.ok(!p.output().includes(token.pin));
    }
  });

  it('stays up while the token is gone, health not ready ("cannot sign"), and is ready again once it is back', async () => {
    const dir = servers.tmp();
    const p = servers.start(['--config', configFile(dir, token.caYaml()), ...serverArgs(dir)], { env: token.env });
    const { adminSocket } = await p.ready();
    const check = (): ReturnType<typeof sigil> => sigil('server', 'healthcheck', '--admin-socket', adminSocket, '--verbose');
    assert.equal(check().status, 0);

    token.remove();
    const down = check();
    assert.equal(down.status, 1, down.stdout);
    assert.match(down.stdout, /^FAIL keyManager: cannot sign: token "sigil-ca-proc" is not in PKCS#11 module/m);
    assert.match(down.stderr, /server is unhealthy: keyManager: cannot sign: /);
    assert.equal(p.child.exitCode, null, 'the server is still running');

    token.restore();
    const deadline = Date.now() + 15_000;
    let up = check();
    while (up.status !== 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      up = check();
    }
    assert.equal(up.status, 0, `${up.stdout}${up.stderr}`);
    assert.equal((await p.stop()).code, 0, p.output());
    const logged = p.logs().map((l) => String(l['msg']));
    assert.ok(logged.some((m) => m.includes('token "sigil-ca-proc" failed (CKR_')), logged.join('\n'));
    assert.ok(logged.includes('keymanager(pkcs11): token "sigil-ca-proc" is back'), logged.join('\n'));
    assert.ok(!p.output().includes(token.pin));
  });
});
