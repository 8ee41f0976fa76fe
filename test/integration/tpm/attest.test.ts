/**
 * TPM node attestation end to end, against swtpm started by the test: `sigil agent run
 * --node-attestor tpm` attests with the RSA and with the ECC P-384 EK, gets the agent ID derived
 * from the EK certificate's key, shows up in `sigil server agent list` with its selectors, and
 * serves an SVID to a workload; after a restart it attests again to the same ID, and when its SVID
 * has expired it renews by attesting again.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { agentArgs, SIGIL, TD, UID_SELECTOR, until, useFixtures, type ServerFixture } from '../agent/harness.js';
import { TpmAgentAttestor } from '../../../attestors/node/tpm/agent.js';
import { agentList, attestWith, expectedAgentId, useSwtpms } from './harness.js';

const run = promisify(execFile);

async function fetchSvids(socketPath: string): Promise<string> {
  try {
    return (await run(process.execPath, [SIGIL, 'agent', 'api', 'fetch', 'x509', '--socket-path', socketPath, '--output', 'json'])).stdout;
  } catch (err) {
    // Not yet: the agent has no identity for this process until the entry reaches it.
    return String(err);
  }
}

describe('tpm node attestation (swtpm)', function () {
  this.timeout(90_000);
  const f = useFixtures();
  const tpms = useSwtpms(['a']);

  const tpmServer = (o: { agentTtl?: string } = {}): Promise<ServerFixture> =>
    f.server({ ...o, nodeAttestors: { tpm: { ekCaBundles: [tpms.a.ekCaBundle] } } });

  for (const alg of ['rsa', 'ecc'] as const) {
    it(`attests with the ${alg === 'rsa' ? 'RSA-2048' : 'ECC P-384'} EK and serves an SVID to a workload`, async () => {
      const server = await tpmServer();
      const dir = f.tmp();
      const config = join(dir, 'agent.yaml');
      writeFileSync(config, `nodeAttestor:\n  type: tpm\n  tcti: "${tpms.a.tcti}"\n  ekAlgorithm: ${alg}\n  pcrs: [0, 7, 16]\n`);
      const agent = f.process([...agentArgs(server, dir), '--config', config]);
      const { agentId, socketPath } = await agent.ready();
      assert.equal(agentId, expectedAgentId(tpms.a.ekCert(alg)));
      const attested = agent.logs().find((l) => l['msg'] === 'agent: node attestation succeeded');
      assert.ok(attested, agent.output());
      for (const step of ['tpm: read the EK certificate from NV', 'tpm: activated the credential', 'tpm: quoted the PCRs']) {
        assert.ok(agent.messages().includes(step), `progress line ${step}\n${agent.output()}`);
      }

      const [listed] = await agentList(server);
      assert.equal(listed?.id, agentId);
      assert.equal(listed.attestation_type, 'tpm');
      assert.equal(listed.can_reattest, true);
      const values = listed.selectors.map((s) => `${s.type}:${s.value}`);
      assert.ok(values.includes(`tpm:ek-hash:${agentId.split('/').pop()}`), values.join('\n'));
      assert.ok(values.includes('tpm:ek-issuer-cn:swtpm-localca'), values.join('\n'));
      assert.ok(values.includes('tpm:ek-manufacturer:id:00001014'), values.join('\n'));
      for (const pcr of [0, 7, 16]) assert.ok(values.some((v) => v.startsWith(`tpm:pcr:sha256:${pcr}:`)), values.join('\n'));

      const workload = `spiffe://${TD}/tpm-workload/${alg}`;
      await server.createEntries([{ spiffe_id: workload, parent_id: agentId, selectors: [UID_SELECTOR] }]);
      await until('the workload gets its SVID', async () => (await fetchSvids(socketPath)).includes(workload), 20_000);
      assert.equal((await agent.stop()).code, 0, agent.output());
    });
  }

  it('attests again after a restart, to the same agent ID, without a join token', async () => {
    const server = await tpmServer();
    const dir = f.tmp();
    const args = [...agentArgs(server, dir), '--node-attestor', 'tpm', '--tpm-tcti', tpms.a.tcti];
    const first = f.process(args);
    const { agentId } = await first.ready();
    const before = (await agentList(server))[0]!;
    assert.equal((await first.stop()).code, 0, first.output());

    const second = f.process(args);
    assert.equal((await second.ready()).agentId, agentId);
    assert.ok(second.messages().includes('agent: attested again at start'), second.output());
    const after = await agentList(server);
    assert.equal(after.length, 1);
    assert.notEqual(after[0]!.x509svid_serial_number, before.x509svid_serial_number, 'a new agent SVID from the new attestation');
    assert.equal((await second.stop()).code, 0, second.output());
  });

  it('renews an expired agent SVID by attesting again', async () => {
    const server = await tpmServer({ agentTtl: '4s' });
    const { agent, logger } = await f.agent(server, { flags: { joinToken: undefined, nodeAttestor: 'tpm', tpmTcti: tpms.a.tcti } });
    const agentId = agent.agentId!;
    const first = (await agentList(server))[0]!;
    // The server is away until the SVID has expired: renewal can only be a new attestation then.
    await server.stop();
    // On a slow machine the agent may already have renewed at half-life before the stop: only a
    // renewal after the restart counts.
    const renewals = (): number => logger.messages('info').filter((m) => m === 'agent: renewed the agent SVID').length;
    const before = renewals();
    await new Promise((r) => setTimeout(r, 4500));
    await server.restart();
    await until('renewed after expiry', () => renewals() > before, 30_000);
    const renewed = (await agentList(server))[0]!;
    assert.equal(renewed.id, agentId);
    assert.notEqual(renewed.x509svid_serial_number, first.x509svid_serial_number);
    assert.equal(agent.agentId, agentId);
  });

  it('attests a TPM on the EK hash allow-list without any manufacturer CA configured', async () => {
    const agentId = expectedAgentId(tpms.a.ekCert('rsa'));
    const server = await f.server({ nodeAttestors: { tpm: { ekHashAllowList: [agentId.split('/').pop()] } } });
    const { agent } = await f.agent(server, { flags: { joinToken: undefined, nodeAttestor: 'tpm', tpmTcti: tpms.a.tcti } });
    assert.equal(agent.agentId, agentId);
    assert.deepEqual((await agentList(server)).map((a) => a.id), [agentId]);
  });

  it('answers two overlapping attestations of one agent, each with the AK its payload named', async () => {
    const server = await tpmServer();
    const half = new TpmAgentAttestor({ tcti: tpms.a.tcti, ekAlgorithm: 'rsa', pcrBank: 'sha256', pcrs: [0], progress: () => undefined });
    // A renewal and a re-attestation after a refusal can both have sent their payload before either challenge.
    const first = await half.payload();
    const second = await half.payload();
    const id = expectedAgentId(tpms.a.ekCert('rsa'));
    assert.equal(await attestWith(server, second, (c) => half.respond(c)), id);
    assert.equal(await attestWith(server, first, (c) => half.respond(c)), id);
  });

  it('exits 1 at start, naming the TCTI, when no TPM answers there (no retrying, nothing registered)', async () => {
    const server = await tpmServer();
    // A port nothing listens on: probed free, then released.
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => probe.once('listening', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const tcti = `swtpm:host=127.0.0.1,port=${port}`;
    const agent = f.process([...agentArgs(server, f.tmp()), '--node-attestor', 'tpm', '--tpm-tcti', tcti]);
    const exit = await agent.exited;
    assert.equal(exit.code, 1, agent.output());
    assert.ok(agent.stderr.includes(`node attestation (tpm) failed: nodeattestor(tpm): preparing the EK and AK with the TPM at ${tcti} failed`), agent.output());
    assert.match(agent.stderr, /is the TPM at .* reachable\?/);
    assert.doesNotMatch(agent.output(), /server unreachable/);
    assert.deepEqual(await agentList(server), []);
  });

  it('leaves no transient object or session loaded in the TPM after all these attestations', async () => {
    assert.deepEqual(await tpms.a.loadedHandles(), []);
  });
});
