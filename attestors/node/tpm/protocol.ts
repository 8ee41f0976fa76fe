/**
 * The tpm attestor's three messages, JSON with base64 fields (version 1):
 *   payload   agent → server  the EK certificate (when the TPM has one), the EK and AK public areas,
 *                             the PCRs the agent wants quoted
 *   challenge server → agent  the credential for the AK (MakeCredential) and that AK's Name, a fresh
 *                             nonce, the PCRs to quote
 *   response  agent → server  the activated credential, the quote, its signature, the PCR values
 * Decoding checks every field's presence and type, so the server half sees only well-formed values.
 */
import { PCR_BANKS, PCR_COUNT, type PcrBank, type PcrBankSelection } from './wire.js';

export const PROTOCOL_VERSION = 1;

export interface TpmPayload {
  /** DER; absent for a TPM without an EK certificate (then the server's EK hash allow-list decides). */
  ekCert?: Uint8Array;
  /** TPMT_PUBLIC of the EK. */
  ekPublic: Uint8Array;
  /** TPMT_PUBLIC of the AK. */
  akPublic: Uint8Array;
  pcrs: PcrBankSelection[];
}

export interface TpmChallenge {
  /** The Name of the AK the credential is for: the agent answers with that AK among those it made. */
  akName: Uint8Array;
  credentialBlob: Uint8Array;
  encryptedSecret: Uint8Array;
  nonce: Uint8Array;
  pcrs: PcrBankSelection[];
}

export interface TpmResponse {
  /** The credential ActivateCredential returned. */
  secret: Uint8Array;
  /** TPMS_ATTEST bytes. */
  quoted: Uint8Array;
  /** TPMT_SIGNATURE bytes. */
  signature: Uint8Array;
  /** Hex PCR values by bank, then index. */
  pcrValues: Partial<Record<PcrBank, Record<string, string>>>;
}

/** What a message lacked; the server half turns it into an InvalidArgument refusal. */
export class ProtocolError extends Error {}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function encode(obj: Record<string, unknown>): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({ v: PROTOCOL_VERSION, ...obj }));
}

function decode(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ProtocolError(`the ${what} is not JSON`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`the ${what} is not a JSON object`);
  const o = v as Record<string, unknown>;
  if (o['v'] !== PROTOCOL_VERSION) throw new ProtocolError(`the ${what} is version ${JSON.stringify(o['v'])}; this side speaks ${PROTOCOL_VERSION}`);
  return o;
}

function bytes(o: Record<string, unknown>, key: string, what: string): Uint8Array {
  const v = o[key];
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new ProtocolError(`the ${what} has no base64 ${key}`);
  return Buffer.from(v, 'base64');
}

function selection(o: Record<string, unknown>, what: string): PcrBankSelection[] {
  const v = o['pcrs'];
  if (!Array.isArray(v) || v.length > PCR_BANKS.length) throw new ProtocolError(`the ${what} has no pcrs list`);
  return v.map((s: unknown) => {
    const bank = (s as { bank?: unknown } | null)?.bank;
    const pcrs = (s as { pcrs?: unknown } | null)?.pcrs;
    if (!(PCR_BANKS as readonly unknown[]).includes(bank)) throw new ProtocolError(`the ${what} names PCR bank ${JSON.stringify(bank)}`);
    if (!Array.isArray(pcrs) || !pcrs.every((i) => Number.isInteger(i) && i >= 0 && i < PCR_COUNT)) {
      throw new ProtocolError(`the ${what} has PCR indices outside 0-${PCR_COUNT - 1}`);
    }
    return { bank: bank as PcrBank, pcrs: [...new Set(pcrs as number[])].sort((a, b) => a - b) };
  });
}

const selectionJson = (s: readonly PcrBankSelection[]): unknown => s.map((b) => ({ bank: b.bank, pcrs: b.pcrs }));

export function encodePayload(p: TpmPayload): Uint8Array {
  return encode({
    ...(p.ekCert === undefined ? {} : { ekCert: b64(p.ekCert) }),
    ekPublic: b64(p.ekPublic),
    akPublic: b64(p.akPublic),
    pcrs: selectionJson(p.pcrs),
  });
}

export function decodePayload(b: Uint8Array): TpmPayload {
  const o = decode(b, 'payload');
  return {
    ...(o['ekCert'] === undefined ? {} : { ekCert: bytes(o, 'ekCert', 'payload') }),
    ekPublic: bytes(o, 'ekPublic', 'payload'),
    akPublic: bytes(o, 'akPublic', 'payload'),
    pcrs: selection(o, 'payload'),
  };
}

export function encodeChallenge(c: TpmChallenge): Uint8Array {
  return encode({
    akName: b64(c.akName),
    credentialBlob: b64(c.credentialBlob),
    encryptedSecret: b64(c.encryptedSecret),
    nonce: b64(c.nonce),
    pcrs: selectionJson(c.pcrs),
  });
}

export function decodeChallenge(b: Uint8Array): TpmChallenge {
  const o = decode(b, 'challenge');
  return {
    akName: bytes(o, 'akName', 'challenge'),
    credentialBlob: bytes(o, 'credentialBlob', 'challenge'),
    encryptedSecret: bytes(o, 'encryptedSecret', 'challenge'),
    nonce: bytes(o, 'nonce', 'challenge'),
    pcrs: selection(o, 'challenge'),
  };
}

export function encodeResponse(r: TpmResponse): Uint8Array {
  return encode({ secret: b64(r.secret), quoted: b64(r.quoted), signature: b64(r.signature), pcrValues: r.pcrValues });
}

export function decodeResponse(b: Uint8Array): TpmResponse {
  const o = decode(b, 'challenge response');
  const values = o['pcrValues'];
  if (typeof values !== 'object' || values === null || Array.isArray(values)) throw new ProtocolError('the challenge response has no pcrValues');
  const pcrValues: TpmResponse['pcrValues'] = {};
  for (const [bank, byIndex] of Object.entries(values)) {
    if (!(PCR_BANKS as readonly string[]).includes(bank) || typeof byIndex !== 'object' || byIndex === null) {
      throw new ProtocolError(`the challenge response has values for PCR bank ${JSON.stringify(bank)}`);
    }
    const out: Record<string, string> = {};
    for (const [index, hex] of Object.entries(byIndex as Record<string, unknown>)) {
      if (typeof hex !== 'string' || !/^([0-9a-f]{2})+$/.test(hex)) throw new ProtocolError(`the challenge response's PCR ${bank}:${index} is not hex`);
      out[index] = hex;
    }
    pcrValues[bank as PcrBank] = out;
  }
  return {
    secret: bytes(o, 'secret', 'challenge response'),
    quoted: bytes(o, 'quoted', 'challenge response'),
    signature: bytes(o, 'signature', 'challenge response'),
    pcrValues,
  };
}
