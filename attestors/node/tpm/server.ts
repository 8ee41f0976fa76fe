/**
 * tpm, server half. The agent proves, with nothing shared beforehand:
 *   1. its EK is genuine: the EK certificate chains to a configured manufacturer CA (or, for TPMs
 *      without one, the EK's hash is on the allow-list), and the EK public area is the certified key;
 *   2. the AK is a restricted signing key in that same TPM: the credential made here for the AK's
 *      Name under the EK comes back decrypted (only that TPM can decrypt it, and only with that AK);
 *   3. the platform's state now: the AK quotes the PCRs over this attestation's fresh nonce, the PCR
 *      values hash to the signed digest, and they meet the PCR policy if one is configured.
 * The agent is `tpm/<SHA-256 of the EK's SubjectPublicKeyInfo DER>`, the same on every attestation,
 * and can attest again: that is how it renews.
 *
 * Refusals: malformed evidence is InvalidArgument; evidence that does not prove the node is
 * PermissionDenied. The server handler registers nothing unless attest() returns.
 */
import { randomBytes, timingSafeEqual, X509Certificate, type KeyObject } from 'node:crypto';
import { TPM } from '../builtins.js';
import {
  NodeAttestorError, NodeAttestorErrorCode, type AttestationResult, type ChallengeFn, type NodeAttestorHost, type NodeSelector,
  type ServerNodeAttestor,
} from '../node-attestor.js';
import { makeCredential } from './credential.js';
import { chainProblem, issuerCommonName, tpmManufacturer } from './ek-cert.js';
import { decodePayload, decodeResponse, encodeChallenge, ProtocolError, type TpmResponse } from './protocol.js';
import { AK_REQUIRED_ATTRS, ekHash, objectName, OBJECT_ATTR, parsePublic, publicKeyOf, spkiDer, type TpmPublic } from './public-area.js';
import { parseQuote, pcrDigest, verifyQuoteSignature } from './quote.js';
import { hashName, TPM_ALG, WireError, type PcrBank, type PcrBankSelection } from './wire.js';

/** Expected PCR values (hex) by bank, then PCR index. */
export type PcrPolicy = Partial<Record<PcrBank, Record<number, string>>>;

export interface TpmServerOptions {
  /** Manufacturer CA certificates; every one is a trust anchor for EK certificates. */
  ekCas: readonly X509Certificate[];
  /** Lower-case hex SHA-256 EK hashes accepted without a certificate. */
  ekHashAllowList: readonly string[];
  pcrPolicy: PcrPolicy;
}

const NONCE_BYTES = 32;
const SECRET_BYTES = 32;

export class TpmServerAttestor implements ServerNodeAttestor {
  readonly type = TPM;
  readonly #o: TpmServerOptions;
  readonly #allowed: ReadonlySet<string>;

  constructor(o: TpmServerOptions) {
    this.#o = o;
    this.#allowed = new Set(o.ekHashAllowList.map((h) => h.toLowerCase()));
  }

  async attest(payloadBytes: Uint8Array, host: NodeAttestorHost, challenge: ChallengeFn): Promise<AttestationResult> {
    const payload = this.#read(() => decodePayload(payloadBytes));
    const ek = this.#read(() => parsePublic(payload.ekPublic), 'the EK public area');
    const ak = this.#read(() => parsePublic(payload.akPublic), 'the AK public area');
    this.#checkEkShape(ek);
    const ekKey = this.#read(() => publicKeyOf(ek), 'the EK public key');
    this.#read(() => publicKeyOf(ak), 'the AK public key');
    const hash = ekHash(ekKey);
    const cert = payload.ekCert === undefined ? undefined : this.#read(() => new X509Certificate(payload.ekCert!), 'the EK certificate');
    const certTrusted = this.#checkEndorsement(ekKey, hash, cert, host.now());
    const signHash = this.#checkAk(ak);

    const selection = withPolicy(payload.pcrs, this.#o.pcrPolicy);
    const secret = randomBytes(SECRET_BYTES);
    // Fresh for this attestation and never stored: a quote over any other nonce, including one
    // recorded from an earlier attestation, is refused below.
    const nonce = randomBytes(NONCE_BYTES);
    const akName = objectName(ak);
    const credential = this.#read(() => makeCredential(ek, akName, secret), 'the EK public key');
    const answer = await challenge(encodeChallenge({ ...credential, akName, nonce, pcrs: selection }));
    const response = this.#read(() => decodeResponse(answer));

    if (response.secret.length !== secret.length || !timingSafeEqual(response.secret, secret)) {
      throw this.#denied('the credential was not activated: the AK is not in the TPM that holds this EK');
    }
    const signatureOk = this.#read(() => verifyQuoteSignature(ak, response.quoted, response.signature), 'the quote signature');
    if (!signatureOk) throw this.#denied('the quote signature does not verify with the activated AK');
    const quote = this.#read(() => parseQuote(response.quoted), 'the quote');
    if (quote.extraData.length !== nonce.length || !timingSafeEqual(quote.extraData, nonce)) {
      throw this.#denied("the quote is not over this attestation's nonce (a replayed or stale quote)");
    }
    if (!sameSelection(quote.pcrSelection, selection)) throw this.#denied('the quote covers other PCRs than the ones asked for');
    const values = this.#pcrValues(response, selection);
    if (!pcrDigest(signHash, selection, values).equals(quote.pcrDigest)) {
      throw this.#denied('the PCR values sent do not match the digest the TPM quoted');
    }
    this.#checkPolicy(values);

    const selectors: NodeSelector[] = [{ type: TPM, value: `ek-hash:${hash}` }];
    // Only a certificate that chains to a manufacturer CA vouches for its issuer and manufacturer: an
    // allow-listed TPM could otherwise send any certificate with its EK key and name itself a vendor.
    if (cert !== undefined && certTrusted) {
      const cn = issuerCommonName(cert);
      if (cn !== undefined) selectors.push({ type: TPM, value: `ek-issuer-cn:${cn}` });
      const manufacturer = tpmManufacturer(cert);
      if (manufacturer !== undefined) selectors.push({ type: TPM, value: `ek-manufacturer:${manufacturer}` });
    }
    for (const s of selection) {
      for (const i of s.pcrs) selectors.push({ type: TPM, value: `pcr:${s.bank}:${i}:${Buffer.from(values[s.bank]![i]!).toString('hex')}` });
    }
    return { agentPath: `${TPM}/${hash}`, selectors, canReattest: true };
  }

  #checkEkShape(ek: TpmPublic): void {
    const need = OBJECT_ATTR.fixedTPM | OBJECT_ATTR.fixedParent | OBJECT_ATTR.restricted | OBJECT_ATTR.decrypt;
    if ((ek.attributes & need) !== need || (ek.attributes & OBJECT_ATTR.sign) !== 0) {
      throw this.#invalid('the EK is not a restricted decryption key fixed to its TPM');
    }
    if (ek.symmetric.algorithm !== TPM_ALG.AES || ek.symmetric.mode !== TPM_ALG.CFB) throw this.#invalid('the EK has no AES-CFB symmetric definition');
  }

  /** Refuses an EK that is neither certified nor allow-listed; returns whether `cert` chains to a manufacturer CA. */
  #checkEndorsement(ekKey: KeyObject, hash: string, cert: X509Certificate | undefined, now: Date): boolean {
    if (cert === undefined) {
      if (this.#allowed.has(hash)) return false;
      throw this.#denied(`the TPM sent no EK certificate and its EK hash ${hash} is not on the allow-list (nodeAttestors.tpm.ekHashAllowList)`);
    }
    if (!spkiDer(cert.publicKey).equals(spkiDer(ekKey))) throw this.#denied('the EK public key does not match the EK certificate');
    const problem = chainProblem(cert, this.#o.ekCas, now);
    if (problem === undefined) return true;
    if (this.#allowed.has(hash)) return false;
    throw this.#denied(problem);
  }

  /** Returns the hash the AK signs quotes with. */
  #checkAk(ak: TpmPublic): 'sha256' | 'sha384' | 'sha512' {
    if ((ak.attributes & AK_REQUIRED_ATTRS) !== AK_REQUIRED_ATTRS || (ak.attributes & OBJECT_ATTR.decrypt) !== 0) {
      throw this.#invalid('the AK is not a restricted signing key fixed to its TPM');
    }
    // Defence in depth: a public area loaded alone (TPM2_LoadExternal) may claim fixedTPM, and only the
    // TPM's refusal to authorize such an object (libtpms: TPM_RC_AUTH_UNAVAILABLE, with a policy too)
    // keeps a key held in software from being ActivateCredential's target and signing any quote. sigil's
    // AK has no policy, so an AK with one is refused rather than left to that rule.
    if ((ak.attributes & OBJECT_ATTR.adminWithPolicy) !== 0 || ak.authPolicy.length !== 0) {
      throw this.#invalid('the AK must have no authPolicy and adminWithPolicy clear');
    }
    const scheme = ak.type === 'rsa' ? TPM_ALG.RSASSA : TPM_ALG.ECDSA;
    const hash = hashName(ak.schemeHash);
    if (ak.scheme !== scheme || hash === undefined || hash === 'sha1') {
      throw this.#invalid('the AK must sign with RSASSA (RSA) or ECDSA (ECC) and SHA-256 or stronger');
    }
    return hash;
  }

  #pcrValues(response: TpmResponse, selection: readonly PcrBankSelection[]): Record<string, Record<number, Buffer>> {
    const out: Record<string, Record<number, Buffer>> = {};
    for (const s of selection) {
      const size = digestSize(s.bank);
      const bank: Record<number, Buffer> = {};
      for (const i of s.pcrs) {
        const hex = response.pcrValues[s.bank]?.[String(i)];
        if (hex === undefined || hex.length !== size * 2) throw this.#invalid(`the challenge response has no ${size}-byte value for PCR ${s.bank}:${i}`);
        bank[i] = Buffer.from(hex, 'hex');
      }
      out[s.bank] = bank;
    }
    return out;
  }

  #checkPolicy(values: Record<string, Record<number, Buffer>>): void {
    for (const [bank, expected] of Object.entries(this.#o.pcrPolicy)) {
      for (const [index, hex] of Object.entries(expected ?? {})) {
        const got = values[bank]?.[Number(index)]?.toString('hex');
        if (got !== hex.toLowerCase()) {
          throw this.#denied(`PCR ${bank}:${index} is ${got ?? 'missing'}; the PCR policy expects ${hex.toLowerCase()} (the measured boot differs)`);
        }
      }
    }
  }

  #read<T>(f: () => T, what?: string): T {
    try {
      return f();
    } catch (err) {
      if (err instanceof ProtocolError) throw this.#invalid(err.message);
      if (err instanceof WireError || what !== undefined) throw this.#invalid(`${what ?? 'a TPM structure'} cannot be read: ${(err as Error).message}`, err);
      throw err;
    }
  }

  #invalid(message: string, cause?: unknown): NodeAttestorError {
    return new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, message, { cause });
  }

  #denied(message: string): NodeAttestorError {
    return new NodeAttestorError(this.type, NodeAttestorErrorCode.denied, message);
  }
}

function digestSize(bank: PcrBank): number {
  return { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[bank];
}

/** The agent's PCR selection plus every PCR the policy checks, banks in a fixed order. */
export function withPolicy(requested: readonly PcrBankSelection[], policy: PcrPolicy): PcrBankSelection[] {
  const byBank = new Map<PcrBank, Set<number>>();
  for (const s of requested) for (const i of s.pcrs) (byBank.get(s.bank) ?? byBank.set(s.bank, new Set()).get(s.bank)!).add(i);
  for (const [bank, expected] of Object.entries(policy) as [PcrBank, Record<number, string>][]) {
    for (const i of Object.keys(expected)) (byBank.get(bank) ?? byBank.set(bank, new Set()).get(bank)!).add(Number(i));
  }
  const order: PcrBank[] = ['sha1', 'sha256', 'sha384', 'sha512'];
  return order.filter((b) => (byBank.get(b)?.size ?? 0) > 0).map((bank) => ({ bank, pcrs: [...byBank.get(bank)!].sort((a, b) => a - b) }));
}

function sameSelection(a: readonly PcrBankSelection[], b: readonly PcrBankSelection[]): boolean {
  const key = (s: readonly PcrBankSelection[]): string => s.filter((x) => x.pcrs.length > 0).map((x) => `${x.bank}:${x.pcrs.join(',')}`).join(';');
  return key(a) === key(b);
}
