/**
 * Node attestation and the agent's SVID on disk: join token, 0600 file in a 0700 directory, reuse
 * after a restart (the single-use token would make a second attestation fail), insecure bootstrap,
 * and the refusals an operator must be able to read.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SigilAgent } from '../../../agent/agent.js';
import { resolveConfig } from '../../../agent/config/index.js';
import { AttestationError } from '../../../agent/attestation/errors.js';
import { issueCertificate, caTemplate, softwareSigner } from '../../../spiffe/x509svid/index.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { agentArgs, agentIdFor, RecordingLogger, TD, until, useFixtures } from './harness.js';

interface AgentMsg {
  x509svid_serial_number: string;
}

describe('agent: node attestation', function () {
  this.timeout(60_000);
  const f = useFixtures();

  it('attests with a join token and keeps its SVID 0600 in a 0700 data directory', async () => {
    const server = await f.server();
    const token = await server.token();
    const { agent, dataDir } = await f.agent(server, { token });
    assert.equal(agent.agentId, agentIdFor(token));
    assert.equal(statSync(dataDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dataDir, 'agent-svid.json')).mode & 0o777, 0o600);
    await until('ready after the first sync', () => agent.health().ready);
    assert.match(agent.health().detail, /^ready: spiffe:\/\/example.org\/sigil\/agent\/join_token\//);
  });

  it('reuses the stored SVID after a restart instead of attesting again', async () => {
    const server = await f.server();
    const token = await server.token();
    const dir = f.tmp();
    const first = f.process(agentArgs(server, dir, token));
    const { agentId } = await first.ready();
    assert.equal(agentId, agentIdFor(token));
    const before = await server.admin.call<AgentMsg>('AgentService', 'GetAgent', { spiffe_id: agentId });
    assert.equal((await first.stop()).code, 0, first.output());

    // Same token: had the agent attested again, the server would refuse the used token.
    const second = f.process(agentArgs(server, dir, token));
    assert.equal((await second.ready()).agentId, agentId);
    assert.ok(second.messages().includes('agent: reusing the stored agent SVID; not attesting again'), second.output());
    const after = await server.admin.call<AgentMsg>('AgentService', 'GetAgent', { spiffe_id: agentId });
    assert.equal(after.x509svid_serial_number, before.x509svid_serial_number, 'the server issued no new agent SVID');
    assert.equal((await second.stop()).code, 0, second.output());
  });

  it('exits 1 with a clear message when the join token was already used', async () => {
    const server = await f.server();
    const token = await server.token();
    await f.agent(server, { token });
    const p = f.process(agentArgs(server, f.tmp(), token));
    const exit = await p.exited;
    assert.equal(exit.code, 1, p.output());
    assert.match(p.stderr, /node attestation \(join_token\) failed: .*the join token is unknown, already used or expired/);
  });

  it('keeps trying an unreachable server at start, and stops promptly on SIGTERM', async () => {
    const server = await f.server();
    const token = await server.token();
    await server.stop();
    const p = f.process(agentArgs(server, f.tmp(), token));
    await until('retrying', () => p.stdout.includes('agent: cannot attest yet (server unreachable); retrying'), 15_000);
    const t0 = Date.now();
    const exit = await p.stop('SIGTERM');
    assert.equal(exit.code, 0, p.output());
    assert.ok(Date.now() - t0 < 3000, 'did not wait out the retry');
  });

  it('attests with insecure bootstrap, trusting the certificate it probed', async () => {
    const server = await f.server();
    const { agent, logger } = await f.agent(server, { flags: { trustBundle: undefined, insecureBootstrap: true } });
    assert.match(agent.agentId ?? '', /^spiffe:\/\/example.org\/sigil\/agent\/join_token\//);
    assert.ok(logger.messages('warn').some((m) => m.startsWith('agent: insecure bootstrap:')));
  });

  it('refuses a server its trust bundle does not vouch for, without spending the token', async () => {
    const server = await f.server();
    const token = await server.token();
    const dir = f.tmp();
    const wrong = join(dir, 'other-ca.pem');
    writeFileSync(wrong, (await otherCa()).toString());
    const config = resolveConfig({
      flags: {
        trustDomain: TD, serverAddress: server.address, joinToken: token, trustBundle: wrong,
        socketPath: join(dir, 'api.sock'), dataDir: join(dir, 'data'),
      },
    });
    const agent = new SigilAgent({ config, logger: new RecordingLogger(), serveWorkloadApi: false, tuning: { startupRetryMs: 0 } });
    await assert.rejects(agent.start(), (err: unknown) => {
      assert.ok(err instanceof AttestationError, String(err));
      assert.match(err.message, /node attestation \(join_token\) failed: .*(certificate|issuer)/i, err.message);
      return true;
    });
    // The token was never sent: it still works with the right bundle.
    const { agent: good } = await f.agent(server, { token });
    assert.equal(good.agentId, agentIdFor(token));
  });
});

async function otherCa(): Promise<X509Certificate> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const td = TrustDomain.fromString(TD);
  const now = new Date();
  return issueCertificate(
    caTemplate({ trustDomain: td, publicKey, notBefore: now, notAfter: new Date(now.getTime() + 3_600_000) }),
    softwareSigner(privateKey),
  );
}
