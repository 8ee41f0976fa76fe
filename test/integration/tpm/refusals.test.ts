/**
 * What the server's tpm attestor refuses, each with a message naming the problem and nothing
 * registered (the agent list is unchanged), and no state left behind that would stop the genuine
 * TPM from attesting right after. The evidence comes from real swtpm instances; the tests bend it
 * the way an attacker would (another CA's TPM, a swapped EK, a second TPM answering, an old nonce,
 * a changed PCR value) by wrapping the real agent half.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { ServiceError } from '@grpc/grpc-js';
import { TpmAgentAttestor } from '../../../attestors/node/tpm/agent.js';
import {
  decodeChallenge, decodePayload, decodeResponse, encodeChallenge, encodePayload, encodeResponse,
} from '../../../attestors/node/tpm/protocol.js';
import { TpmSession } from '../../../attestors/node/tpm/tpm.js';
import { agentArgs, useFixtures, type ServerFixture } from '../agent/harness.js';
import { agentList, attestWith, expectedAgentId, useSwtpms, type Respond } from './harness.js';

const quiet = (): undefined => undefined;

/** The attestation must be refused with PERMISSION_DENIED and a message matching `message`. */
async function refused(attempt: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(attempt, (err: ServiceError) => {
    assert.equal(err.code, 7, `PERMISSION_DENIED, got ${err.code}: ${err.details}`);
    assert.match(err.details, message);
    return true;
  });
}

describe('tpm node attestation: refusals (swtpm)', function () {
  this.timeout(60_000);
  const f = useFixtures();
  // a: the genuine TPM, trusted; b: another TPM, from a manufacturer the server does not trust.
  const tpms = useSwtpms(['a', 'b']);

  const agentHalf = (tpm: 'a' | 'b'): TpmAgentAttestor =>
    new TpmAgentAttestor({ tcti: tpms[tpm].tcti, ekAlgorithm: 'rsa', pcrBank: 'sha256', pcrs: [0, 7], progress: quiet });

  const tpmServer = (pcrPolicy?: Record<string, Record<string, string>>): Promise<ServerFixture> =>
    f.server({ nodeAttestors: { tpm: { ekCaBundles: [tpms.a.ekCaBundle], ...(pcrPolicy === undefined ? {} : { pcrPolicy }) } } });

  /** Nothing was registered, and the genuine TPM still attests (no state left behind broke it). */
  async function nothingRegisteredThenGenuineAttests(server: ServerFixture): Promise<void> {
    assert.deepEqual(await agentList(server), []);
    const genuine = agentHalf('a');
    const id = await attestWith(server, await genuine.payload(), (c) => genuine.respond(c));
    assert.equal(id, expectedAgentId(tpms.a.ekCert('rsa')));
    assert.equal((await agentList(server)).length, 1);
  }

  it('refuses an EK certificate from a manufacturer CA it does not trust', async () => {
    const server = await tpmServer();
    const other = agentHalf('b');
    await refused(attestWith(server, await other.payload(), (c) => other.respond(c)), /not signed by any configured manufacturer CA/);
    await nothingRegisteredThenGenuineAttests(server);
  });

  it('a refused agent process exits 1 with the reason, and nothing is registered', async () => {
    const server = await tpmServer();
    const dir = f.tmp();
    const agent = f.process([...agentArgs(server, dir), '--node-attestor', 'tpm', '--tpm-tcti', tpms.b.tcti]);
    const exit = await agent.exited;
    assert.equal(exit.code, 1, agent.output());
    assert.match(agent.stderr, /node attestation \(tpm\) failed: .*nodeattestor\(tpm\): the EK certificate \(issuer CN=swtpm-localca\) is not signed by any configured manufacturer CA/);
    await nothingRegisteredThenGenuineAttests(server);
  });

  it('refuses an EK public key that is not the key of the EK certificate sent', async () => {
    const server = await tpmServer();
    const genuine = agentHalf('a');
    const payload = decodePayload(await genuine.payload());
    const otherEk = await new TpmSession(tpms.b.tcti, 'rsa', quiet).prepare();
    const forged = encodePayload({ ...payload, ekPublic: otherEk.ekPublic });
    await refused(attestWith(server, forged, (c) => genuine.respond(c)), /the EK public key does not match the EK certificate/);
    await nothingRegisteredThenGenuineAttests(server);
  });

  it("refuses a credential answered by another TPM than the certified EK's", async () => {
    const server = await tpmServer();
    const genuine = await new TpmSession(tpms.a.tcti, 'rsa', quiet).prepare();
    const attacker = new TpmSession(tpms.b.tcti, 'rsa', quiet);
    const attackerAk = await attacker.prepare();
    // TPM a's EK certificate and public key are public; the AK lives in TPM b.
    const forged = encodePayload({ ekCert: genuine.ekCert!, ekPublic: genuine.ekPublic, akPublic: attackerAk.akPublic, pcrs: [{ bank: 'sha256', pcrs: [0] }] });
    let tpmError: unknown;
    const respond: Respond = async (c) => {
      const ch = decodeChallenge(c);
      try {
        await attacker.answer(attackerAk.ak, ch.credentialBlob, ch.encryptedSecret, ch.nonce, ch.pcrs);
      } catch (err) {
        tpmError = err;
      }
      return encodeResponse({ secret: randomBytes(32), quoted: Buffer.alloc(0), signature: Buffer.alloc(0), pcrValues: {} });
    };
    await refused(attestWith(server, forged, respond), /the credential was not activated: the AK is not in the TPM that holds this EK/);
    assert.match(String(tpmError), /Esys_ActivateCredential failed/, 'TPM b cannot activate a credential made for TPM a');
    assert.deepEqual(await tpms.b.loadedHandles(), [], 'the failed activation flushed everything it loaded');
    await nothingRegisteredThenGenuineAttests(server);
  });

  it('refuses a quote over a nonce from an earlier attestation', async () => {
    const server = await tpmServer();
    const genuine = agentHalf('a');
    let oldNonce: Uint8Array | undefined;
    // A first exchange the attacker abandons after seeing its nonce (refused: nothing is activated).
    await refused(
      attestWith(server, await genuine.payload(), async (c) => {
        oldNonce = decodeChallenge(c).nonce;
        return encodeResponse({ secret: randomBytes(32), quoted: Buffer.alloc(0), signature: Buffer.alloc(0), pcrValues: {} });
      }),
      /the credential was not activated/,
    );
    const replaying: Respond = (c) => genuine.respond(encodeChallenge({ ...decodeChallenge(c), nonce: oldNonce! }));
    await refused(attestWith(server, await genuine.payload(), replaying), /the quote is not over this attestation's nonce/);
    await nothingRegisteredThenGenuineAttests(server);
  });

  it('refuses PCR values that are not the ones the TPM quoted', async () => {
    const server = await tpmServer();
    const genuine = agentHalf('a');
    const tampering: Respond = async (c) => {
      const answer = decodeResponse(await genuine.respond(c));
      answer.pcrValues.sha256!['7'] = 'ff'.repeat(32);
      return encodeResponse(answer);
    };
    await refused(attestWith(server, await genuine.payload(), tampering), /the PCR values sent do not match the digest the TPM quoted/);
    await nothingRegisteredThenGenuineAttests(server);
  });

  it('refuses a host whose PCRs no longer meet the PCR policy (a PCR extended since)', async () => {
    const server = await tpmServer({ sha256: { '16': '00'.repeat(32) } });
    await tpms.a.resetPcr(16);
    const genuine = agentHalf('a');
    const id = await attestWith(server, await genuine.payload(), (c) => genuine.respond(c));
    const [before] = await agentList(server);
    assert.equal(before?.id, id);
    assert.ok(before.selectors.some((s) => s.value === `pcr:sha256:16:${'00'.repeat(32)}`));

    await tpms.a.extendPcr(16, 'ab'.repeat(32));
    try {
      await refused(attestWith(server, await genuine.payload(), (c) => genuine.respond(c)), /PCR sha256:16 is [0-9a-f]{64}; the PCR policy expects 0{64}/);
      assert.deepEqual(await agentList(server), [before], 'the refused re-attestation changed nothing');
    } finally {
      await tpms.a.resetPcr(16);
    }
  });
});
