/**
 * tpm, agent half: the payload is the EK certificate and the EK and AK public areas; the one
 * challenge is answered with the activated credential and a quote over the server's nonce. The AK
 * made for the payload is kept (as blobs, nothing loaded) until the challenge comes; each
 * attestation, including every re-attestation, makes a new one.
 */
import { TPM } from '../builtins.js';
import { NodeAttestorError, NodeAttestorErrorCode, type AgentNodeAttestor } from '../node-attestor.js';
import { TssError } from './esys.js';
import { decodeChallenge, encodePayload, encodeResponse, ProtocolError } from './protocol.js';
import type { EkAlgorithm } from './public-area.js';
import { TpmSession, type Prepared, type Progress } from './tpm.js';
import type { PcrBank } from './wire.js';


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
  #prepared: Prepared | undefined;

  constructor(o: TpmAgentOptions) {
    this.#o = o;
    this.#tpm = new TpmSession(o.tcti, o.ekAlgorithm, o.progress ?? (() => undefined));
  }

  async payload(): Promise<Uint8Array> {
    const prepared = await this.#tpmStep('preparing the EK and AK', () => this.#tpm.prepare());
    this.#prepared = prepared;
    return encodePayload({
      ...(prepared.ekCert === undefined ? {} : { ekCert: prepared.ekCert }),
      ekPublic: prepared.ekPublic,
      akPublic: prepared.akPublic,
      pcrs: [{ bank: this.#o.pcrBank, pcrs: [...this.#o.pcrs] }],
    });
  }

  async respond(challengeBytes: Uint8Array): Promise<Uint8Array> {
    const prepared = this.#prepared;
    if (prepared === undefined) throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, 'a challenge came before the payload was sent');
    let challenge;
    try {
      challenge = decodeChallenge(challengeBytes);
    } catch (err) {
      if (err instanceof ProtocolError) throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, `the server sent a bad challenge: ${err.message}`);
      throw err;
    }
    const answer = await this.#tpmStep('answering the challenge', () =>
      this.#tpm.answer(prepared.ak, challenge.credentialBlob, challenge.encryptedSecret, challenge.nonce, challenge.pcrs),
    );
    this.#prepared = undefined;
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
