/**
 * tpm, agent half: the payload is the EK certificate and the EK and AK public areas; the one
 * challenge is answered with the activated credential and a quote over the server's nonce. The AK
 * made for the payload is kept (as blobs, nothing loaded) until the challenge for it comes; each
 * attestation, including every re-attestation, makes a new one. Attestations can overlap (a renewal
 * and a re-attestation after a refusal), so the AKs wait by Name and the challenge names its AK.
 */
import { TPM } from '../builtins.js';
import { NodeAttestorError, NodeAttestorErrorCode, type AgentNodeAttestor } from '../node-attestor.js';
import { TssError } from './esys.js';
import { decodeChallenge, encodePayload, encodeResponse, ProtocolError } from './protocol.js';
import { objectName, parsePublic, type EkAlgorithm } from './public-area.js';
import { TpmSession, type Prepared, type Progress } from './tpm.js';
import type { PcrBank } from './wire.js';

/** AKs made for payloads whose challenge has not come (yet): a stream that broke leaves one behind. */
const MAX_PENDING_AKS = 4;

export interface TpmAgentOptions {
  /** A tctildr configuration string: `device:/dev/tpmrm0`, `swtpm:host=127.0.0.1,port=2321`. */
  tcti: string;
  ekAlgorithm: EkAlgorithm;
  pcrBank: PcrBank;
  pcrs: readonly number[];
  progress?: Progress;
}

export class TpmAgentAttestor implements AgentNodeAttestor {
  readonly type = TPM;
  readonly #o: TpmAgentOptions;
  readonly #tpm: TpmSession;
  /** By the AK's Name (hex), oldest first. */
  readonly #pending = new Map<string, Prepared>();

  constructor(o: TpmAgentOptions) {
    this.#o = o;
    this.#tpm = new TpmSession(o.tcti, o.ekAlgorithm, o.progress ?? (() => undefined));
  }

  async payload(): Promise<Uint8Array> {
    const prepared = await this.#tpmStep('preparing the EK and AK', () => this.#tpm.prepare());
    this.#pending.set(Buffer.from(objectName(parsePublic(prepared.akPublic))).toString('hex'), prepared);
    if (this.#pending.size > MAX_PENDING_AKS) this.#pending.delete(this.#pending.keys().next().value!);
    return encodePayload({
      ...(prepared.ekCert === undefined ? {} : { ekCert: prepared.ekCert }),
      ekPublic: prepared.ekPublic,
      akPublic: prepared.akPublic,
      pcrs: [{ bank: this.#o.pcrBank, pcrs: [...this.#o.pcrs] }],
    });
  }

  async respond(challengeBytes: Uint8Array): Promise<Uint8Array> {
    let challenge;
    try {
      challenge = decodeChallenge(challengeBytes);
    } catch (err) {
      if (err instanceof ProtocolError) throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, `the server sent a bad challenge: ${err.message}`);
      throw err;
    }
    const name = Buffer.from(challenge.akName).toString('hex');
    const prepared = this.#pending.get(name);
    if (prepared === undefined) {
      throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, `the server sent a challenge for AK ${name}, which this agent has no payload out for`);
    }
    this.#pending.delete(name);
    const answer = await this.#tpmStep('answering the challenge', () =>
      this.#tpm.answer(prepared.ak, challenge.credentialBlob, challenge.encryptedSecret, challenge.nonce, challenge.pcrs),
    );
    return encodeResponse(answer);
  }

  async #tpmStep<T>(what: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      const hint = err instanceof TssError && err.rc === 0xa000a ? ` (is the TPM at ${this.#o.tcti} reachable?)` : '';
      throw new NodeAttestorError(this.type, NodeAttestorErrorCode.unavailable, `${what} with the TPM at ${this.#o.tcti} failed: ${(err as Error).message}${hint}`, {
        cause: err,
      });
    }
  }
}
