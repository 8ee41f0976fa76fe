/**
 * What the TPM suites share: swtpm instances for a whole file (provisioned in before, stopped and
 * removed in after), the agent ID an EK certificate must give, `sigil server agent list`, and one
 * attestation through the agent API with a payload and challenge answers of the test's making.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePemCertificates } from '../../../spiffe/bundle/certificates.js';
import { newKeyAndCsr, TestAgentClient } from '../../support/agent-client.js';
import { Swtpm } from '../../support/swtpm.js';
import { SIGIL, TD, type ServerFixture } from '../agent/harness.js';

export interface ListedAgent {
  id: string;
  attestation_type: string;
  x509svid_serial_number: string;
  selectors: { type: string; value: string }[];
  can_reattest: boolean;
}

export const sigil = promisify(execFile);

/** The agent ID for an EK certificate: SHA-256 of its SubjectPublicKeyInfo DER, computed here independently. */
export function expectedAgentId(cert: Buffer): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return `spiffe://${TD}/sigil/agent/tpm/${createHash('sha256').update(spki).digest('hex')}`;
}

/** `sigil server agent list --output json`, run asynchronously (the server is in this process). */
export async function agentList(server: ServerFixture): Promise<ListedAgent[]> {
  const r = await sigil(process.execPath, [SIGIL, 'server', 'agent', 'list', '--admin-socket', server.admin.socketPath, '--output', 'json']);
  return (JSON.parse(r.stdout) as { agents: ListedAgent[] }).agents;
}

/**
 * Provisions and starts one swtpm per name for the file. `sharedCa` names TPMs from the same
 * manufacturer (one local CA); the others each get their own CA.
 */
export function useSwtpms<N extends string>(names: readonly N[], sharedCa: readonly N[] = []): Record<N, Swtpm> {
  const tpms = {} as Record<N, Swtpm>;
  let dir = '';
  before(async function () {
    this.timeout(60_000);
    dir = mkdtempSync(join(tmpdir(), 'sgt-'));
    for (const name of names) {
      tpms[name] = await Swtpm.provision(join(dir, name), sharedCa.includes(name) ? join(dir, 'shared-ca') : undefined);
      await tpms[name].start();
    }
  });
  after(async () => {
    for (const name of names) await tpms[name]?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return tpms;
}

const SERVER_ID = `spiffe://${TD}/sigil/server`;

export type Respond = (challenge: Buffer) => Promise<Uint8Array>;

/** Attests over the agent API with `payload`, answering challenges with `respond`; returns the agent ID. */
export async function attestWith(server: ServerFixture, payload: Uint8Array, respond: Respond): Promise<string> {
  const roots = parsePemCertificates(readFileSync(server.bundlePath));
  const client = new TestAgentClient(server.port, { roots, serverId: SERVER_ID });
  try {
    const { csr } = await newKeyAndCsr();
    const result = await client.attest({ type: 'tpm', payload, csr }, respond);
    return result.agent_id;
  } finally {
    client.close();
  }
}
