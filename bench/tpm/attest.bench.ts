/**
 * Whole TPM node attestations against swtpm, as the agent runs them (agent/attestation/attest.ts
 * over TLS to a SigilServer in this process): EK certificate read, EK + AK creation, credential
 * made in software by the server, ActivateCredential, quote, verification, agent SVID issued.
 * The baseline is a join-token attestation over the same server, so the ratio is what the TPM adds.
 * swtpm is provisioned into a temp dir and stopped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { JoinTokenAgentAttestor } from '../../attestors/node/join-token/agent.js';
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import { TpmAgentAttestor } from '../../attestors/node/tpm/agent.js';
import { attest } from '../../agent/attestation/attest.js';
import { ServerConnection } from '../../agent/client/connection.js';
import { AdminClient } from '../../server/cli/admin-client.js';
import { resolveConfig } from '../../server/config/index.js';
import { SigilServer } from '../../server/server.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { Swtpm } from '../../test/support/swtpm.js';
import { reportLatency, summarize } from '../lib/latency.js';

const RUNS = 15;
const TD = TrustDomain.fromString('example.org');

const dir = mkdtempSync(join(tmpdir(), 'sgtb-'));
// The test suites' swtpm helper: the repository's swtpm/ scripts on free loopback ports.
const swtpm = await Swtpm.provision(join(dir, 'tpm'));
await swtpm.start();
const config = resolveConfig({
  flags: { trustDomain: TD.name, bind: '127.0.0.1:0', adminSocket: join(dir, 'admin.sock'), dataDir: join(dir, 'server'), logLevel: 'warn', tpmEkCa: [swtpm.ekCaBundle] },
});
const server = new SigilServer({ config, pruneIntervalMs: 3_600_000 });
try {
  const port = (await server.start()).agentApi.port;
  const admin = new AdminClient(config.adminSocket);
  const bundle = await admin.call<{ x509_authorities: Buffer[] }>('BundleService', 'GetBundle', {});
  const authorities = bundle.x509_authorities.map((der) => new X509Certificate(der));
  const connection = new ServerConnection({ host: '127.0.0.1', port }, TD);

  async function timed(make: () => Promise<AgentNodeAttestor>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const attestor = await make();
      const t0 = performance.now();
      await attest(connection, { kind: 'bundle', authorities }, attestor);
      out.push(performance.now() - t0);
    }
    return out;
  }

  const tpm = (ekAlgorithm: 'rsa' | 'ecc') => async () =>
    new TpmAgentAttestor({ tcti: swtpm.tcti, ekAlgorithm, pcrBank: 'sha256', pcrs: [0, 7] });
  const joinToken = async (): Promise<AgentNodeAttestor> =>
    new JoinTokenAgentAttestor((await admin.call<{ value: string }>('TokenService', 'CreateJoinToken', { ttl: 600 })).value);

  await timed(tpm('rsa')); // warm-up: JIT, TLS, the libraries' first load
  const baseline = summarize('join_token attestation', await timed(joinToken));
  reportLatency(
    `TPM node attestation against swtpm, whole exchange as the agent runs it (${RUNS} runs each)`,
    [
      { baseline, measured: summarize('tpm, RSA-2048 EK', await timed(tpm('rsa'))) },
      { baseline, measured: summarize('tpm, ECC P-384 EK', await timed(tpm('ecc'))) },
    ],
    ['each TPM attestation creates the EK twice and a new ECC P-256 AK (swtpm, no resource manager)'],
  );
  connection.close();
  admin.close();
} finally {
  await server.stop();
  await swtpm.stop();
  rmSync(dir, { recursive: true, force: true });
}
