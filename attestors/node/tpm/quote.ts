/**
 * TPM2_Quote, verified without a TPM: the AK's signature over a TPMS_ATTEST that names the nonce
 * (extraData), the PCRs selected, and the digest of their values. The PCR values travel beside the
 * quote; they are believed only because their hash is the signed digest.
 */
import { createHash, verify, constants } from 'node:crypto';
import { curveBytes, publicKeyOf, type TpmPublic } from './public-area.js';
import { hashName, readPcrSelection, TPM_ALG, WireError, WireReader, type PcrBankSelection } from './wire.js';

const TPM_GENERATED_VALUE = 0xff544347;
const TPM_ST_ATTEST_QUOTE = 0x8018;

export interface QuoteInfo {
  extraData: Uint8Array;
  resetCount: number;
  restartCount: number;
  pcrSelection: PcrBankSelection[];
  pcrDigest: Uint8Array;
}

/** Parses a TPMS_ATTEST that must be a quote made by a TPM. Throws WireError. */
export function parseQuote(attest: Uint8Array): QuoteInfo {
  const r = new WireReader(attest);
  if (r.u32('TPMS_ATTEST.magic') !== TPM_GENERATED_VALUE) throw new WireError('TPMS_ATTEST: the magic is not TPM_GENERATED_VALUE');
  const type = r.u16('TPMS_ATTEST.type');
  if (type !== TPM_ST_ATTEST_QUOTE) throw new WireError(`TPMS_ATTEST: type 0x${type.toString(16)} is not a quote`);
  r.sized('TPMS_ATTEST.qualifiedSigner');
  const extraData = r.sized('TPMS_ATTEST.extraData');
  r.u64('TPMS_CLOCK_INFO.clock');
  const resetCount = r.u32('TPMS_CLOCK_INFO.resetCount');
  const restartCount = r.u32('TPMS_CLOCK_INFO.restartCount');
  r.u8('TPMS_CLOCK_INFO.safe');
  r.u64('TPMS_ATTEST.firmwareVersion');
  const pcrSelection = readPcrSelection(r);
  const pcrDigest = r.sized('TPMS_QUOTE_INFO.pcrDigest');
  r.end('TPMS_ATTEST');
  return { extraData, resetCount, restartCount, pcrSelection, pcrDigest };
}

/** Whether the TPMT_SIGNATURE `signature` by `ak` is over `attest`. Throws WireError when unreadable. */
export function verifyQuoteSignature(ak: TpmPublic, attest: Uint8Array, signature: Uint8Array): boolean {
  const r = new WireReader(signature);
  const alg = r.u16('TPMT_SIGNATURE.sigAlg');
  const hashAlg = r.u16('TPMT_SIGNATURE.hash');
  const hash = hashName(hashAlg);
  if (hash === undefined) throw new WireError('TPMT_SIGNATURE: unknown hash algorithm');
  // A restricted key signs with its own scheme only: any other hash (SHA-1 say) was not the TPM's doing.
  if (hashAlg !== ak.schemeHash) throw new WireError(`TPMT_SIGNATURE: signed with ${hash}, not the AK's scheme hash ${hashName(ak.schemeHash) ?? 'none'}`);
  if (alg === TPM_ALG.RSASSA && ak.type === 'rsa') {
    const sig = r.sized('TPMS_SIGNATURE_RSA.sig');
    r.end('TPMT_SIGNATURE');
    return verify(hash, attest, { key: publicKeyOf(ak), padding: constants.RSA_PKCS1_PADDING }, sig);
  }
  if (alg === TPM_ALG.ECDSA && ak.type === 'ecc') {
    const size = curveBytes(ak.curve);
    const rr = r.sized('TPMS_SIGNATURE_ECC.signatureR');
    const s = r.sized('TPMS_SIGNATURE_ECC.signatureS');
    r.end('TPMT_SIGNATURE');
    if (rr.length > size || s.length > size) return false;
    const p1363 = Buffer.concat([Buffer.alloc(size - rr.length), rr, Buffer.alloc(size - s.length), s]);
    return verify(hash, attest, { key: publicKeyOf(ak), dsaEncoding: 'ieee-p1363' }, p1363);
  }
  throw new WireError(`TPMT_SIGNATURE: algorithm 0x${alg.toString(16)} does not fit the AK (${ak.type})`);
}

/**
 * The digest a quote signs over PCR values: H(values in selection order: banks as listed, indices
 * ascending). H is the signature's hash; sigil's AKs sign with SHA-256.
 */
export function pcrDigest(hash: 'sha256' | 'sha384' | 'sha512', selection: readonly PcrBankSelection[], values: PcrValues): Buffer {
  const h = createHash(hash);
  for (const s of selection) for (const i of s.pcrs) h.update(values[s.bank]?.[i] ?? Buffer.alloc(0));
  return h.digest();
}

/** PCR values by bank and index. */
export type PcrValues = Partial<Record<string, Record<number, Uint8Array>>>;
