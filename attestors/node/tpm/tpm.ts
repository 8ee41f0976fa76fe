/**
 * The agent's TPM work, in the two steps of the exchange. Each step opens the TPM, does its
 * commands and flushes every transient object and session it made before returning, whatever
 * happens: swtpm has no resource manager, three object slots, and keeps leftovers across processes.
 * Between the steps nothing stays loaded: the EK is recreated (CreatePrimary with the same template
 * gives the same key) and the AK reloaded from the blobs Create returned.
 */
import { readTlv } from '../../../spiffe/internal/der.js';
import { ESYS_TR, EsysContext } from './esys.js';
import { akTemplate, ekTemplate, POLICY_A_SHA384, POLICY_C_SHA384, type EkAlgorithm } from './public-area.js';
import { TPM_ALG, writePcrSelection, type PcrBankSelection } from './wire.js';

/** TCG EK Credential Profile NV indices: RSA-2048 (L-1) and ECC NIST P-384 (H-3) EK certificates. */
const EK_CERT_NV: Readonly<Record<EkAlgorithm, number>> = { rsa: 0x01c00002, ecc: 0x01c00016 };

/** Where the steps and their timings go: the agent's log. */
export type Progress = (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;

export interface Prepared {
  ekCert: Buffer | undefined;
  ekPublic: Buffer;
  akPublic: Buffer;
  /** TPM2B_PRIVATE and TPM2B_PUBLIC wire blobs, to load the AK again for the answer. */
  ak: { privateBlob: Buffer; publicBlob: Buffer };
}

export interface Answer {
  secret: Buffer;
  quoted: Buffer;
  signature: Buffer;
  pcrValues: Record<string, Record<string, string>>;
}

export class TpmSession {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly tcti: string,
    private readonly ekAlgorithm: EkAlgorithm,
    private readonly progress: Progress,
  ) {}

  /** Reads the EK certificate, creates the EK and an AK under it. */
  async prepare(): Promise<Prepared> {
    return this.#with(async (tpm, track) => {
      const ekCert = await this.#timed('read the EK certificate from NV', () => tpm.nvRead(EK_CERT_NV[this.ekAlgorithm]), (c) => ({
        bytes: c?.length ?? 0,
      }));
      const ek = await this.#createEk(tpm, track);
      const ak = await this.#timed('created the attestation key (ECC P-256) under the EK', async () => {
        const session = track(await this.#ekSession(tpm));
        return tpm.create(ek.handle, session, akTemplate());
      });
      return { ekCert: ekCert === undefined ? undefined : trimDer(ekCert), ekPublic: ek.publicArea, akPublic: ak.publicBlob.subarray(2), ak };
    });
  }

  /** Activates the credential and quotes `pcrs` with `nonce`. */
  async answer(ak: Prepared['ak'], blob: Uint8Array, encryptedSecret: Uint8Array, nonce: Uint8Array, pcrs: readonly PcrBankSelection[]): Promise<Answer> {
    return this.#with(async (tpm, track) => {
      const ek = await this.#createEk(tpm, track);
      const akHandle = track(await tpm.load(ek.handle, track(await this.#ekSession(tpm)), ak.privateBlob, ak.publicBlob));
      const secret = await this.#timed('activated the credential', async () =>
        tpm.activateCredential(akHandle, ek.handle, track(await this.#ekSession(tpm)), blob, encryptedSecret),
      );
      const quote = await this.#timed('quoted the PCRs', () => tpm.quote(akHandle, nonce, writePcrSelection(pcrs)));
      const pcrValues = await this.#readPcrs(tpm, pcrs);
      return { secret, ...quote, pcrValues };
    });
  }

  async #readPcrs(tpm: EsysContext, selection: readonly PcrBankSelection[]): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const { bank, pcrs } of selection) {
      const values: Record<string, string> = {};
      // One TPML_DIGEST holds at most 8 values: read in groups of 8.
      for (let i = 0; i < pcrs.length; i += 8) {
        const group = pcrs.slice(i, i + 8);
        const { digests } = await tpm.pcrRead(writePcrSelection([{ bank, pcrs: group }]));
        if (digests.length !== group.length) throw new Error(`PCR_Read returned ${digests.length} values for ${group.length} ${bank} PCRs (is the ${bank} bank active?)`);
        group.forEach((pcr, n) => (values[String(pcr)] = digests[n]!.toString('hex')));
      }
      out[bank] = values;
    }
    return out;
  }

  async #createEk(tpm: EsysContext, track: (h: number) => number): Promise<{ handle: number; publicArea: Buffer }> {
    return this.#timed(`created the ${this.ekAlgorithm === 'rsa' ? 'RSA-2048' : 'ECC P-384'} EK`, async () => {
      const ek = await tpm.createPrimary(ESYS_TR.RH_ENDORSEMENT, ekTemplate(this.ekAlgorithm));
      track(ek.handle);
      return ek;
    });
  }

  /** A session satisfying the EK's policy: PolicySecret(endorsement), and for the H-3 EK PolicyOR(A, C) on top. */
  async #ekSession(tpm: EsysContext): Promise<number> {
    const session = await tpm.startPolicySession(this.ekAlgorithm === 'rsa' ? TPM_ALG.SHA256 : TPM_ALG.SHA384);
    try {
      await tpm.policySecret(ESYS_TR.RH_ENDORSEMENT, session);
      if (this.ekAlgorithm === 'ecc') await tpm.policyOr(session, [POLICY_A_SHA384, POLICY_C_SHA384]);
      return session;
    } catch (err) {
      await tpm.flush(session);
      throw err;
    }
  }

  /**
   * One step at a time per TPM: two overlapping attestations (a renewal and a refusal's
   * re-attestation) would otherwise compete for swtpm's three object slots.
   */
  #with<T>(f: (tpm: EsysContext, track: (handle: number) => number) => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => this.#open(f));
    // The caller gets the failure through `run`; the queue only has to go on after it.
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #open<T>(f: (tpm: EsysContext, track: (handle: number) => number) => Promise<T>): Promise<T> {
    const tpm = await EsysContext.open(this.tcti);
    const handles: number[] = [];
    try {
      return await f(tpm, (h) => {
        handles.push(h);
        return h;
      });
    } finally {
      // Newest first; a failed flush must not keep the others loaded, nor hide the real error.
      for (const h of handles.reverse()) {
        await tpm.flush(h).catch((err: unknown) => this.progress('warn', 'tpm: flushing a transient handle failed', { handle: h, err: String(err) }));
      }
      tpm.close();
    }
  }

  async #timed<T>(step: string, f: () => Promise<T>, fields: (r: T) => Record<string, unknown> = () => ({})): Promise<T> {
    const started = performance.now();
    const r = await f();
    this.progress('info', `tpm: ${step}`, { ms: Math.round((performance.now() - started) * 10) / 10, ...fields(r) });
    return r;
  }
}

/** NV indices are often larger than the certificate: keep the DER element, drop the padding. */
function trimDer(b: Buffer): Buffer {
  try {
    return b.subarray(0, readTlv(b).end);
  } catch {
    return b;
  }
}
