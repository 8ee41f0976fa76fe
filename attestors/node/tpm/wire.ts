/**
 * TPM 2.0 wire format: big-endian, packed, sizes in front (TPM 2.0 Library Part 2). Both halves
 * build and parse TPM structures as these bytes; the agent hands them to libtss2-mu, which turns
 * them into the native structs ESYS wants, so no C struct layout is written down anywhere in JS.
 */

export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  AES: 0x0006,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  ECDSA: 0x0018,
  ECC: 0x0023,
  CFB: 0x0043,
} as const;

export const TPM_ECC_CURVE = { NIST_P256: 0x0003, NIST_P384: 0x0004 } as const;

/** A malformed structure; callers wrap it into their own error with what was being read. */
export class WireError extends Error {}

export class WireReader {
  #off = 0;

  constructor(private readonly buf: Uint8Array) {}

  get offset(): number {
    return this.#off;
  }

  get remaining(): number {
    return this.buf.length - this.#off;
  }

  #take(n: number, what: string): Uint8Array {
    if (n > this.remaining) throw new WireError(`${what}: needs ${n} bytes, ${this.remaining} left`);
    const out = this.buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  u8(what: string): number {
    return this.#take(1, what)[0]!;
  }

  u16(what: string): number {
    const b = this.#take(2, what);
    return (b[0]! << 8) | b[1]!;
  }

  u32(what: string): number {
    const b = this.#take(4, what);
    return ((b[0]! << 24) >>> 0) + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
  }

  u64(what: string): bigint {
    const hi = BigInt(this.u32(what));
    return (hi << 32n) | BigInt(this.u32(what));
  }

  bytes(n: number, what: string): Uint8Array {
    return this.#take(n, what);
  }

  /** A TPM2B: u16 size, then that many bytes. */
  sized(what: string): Uint8Array {
    return this.#take(this.u16(what), what);
  }

  /** The structure must end here: trailing bytes mean the sender and we disagree about its shape. */
  end(what: string): void {
    if (this.remaining !== 0) throw new WireError(`${what}: ${this.remaining} unexpected trailing bytes`);
  }
}

export class WireWriter {
  readonly #parts: Uint8Array[] = [];

  u8(v: number): this {
    this.#parts.push(Uint8Array.of(v & 0xff));
    return this;
  }

  u16(v: number): this {
    this.#parts.push(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
    return this;
  }

  u32(v: number): this {
    this.#parts.push(Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#parts.push(b);
    return this;
  }

  /** A TPM2B around `b`. */
  sized(b: Uint8Array): this {
    return this.u16(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return Buffer.concat(this.#parts);
  }
}

/** Node's name for a TPM hash algorithm, or undefined for one sigil does not use. */
export function hashName(alg: number): 'sha1' | 'sha256' | 'sha384' | 'sha512' | undefined {
  switch (alg) {
    case TPM_ALG.SHA1:
      return 'sha1';
    case TPM_ALG.SHA256:
      return 'sha256';
    case TPM_ALG.SHA384:
      return 'sha384';
    case TPM_ALG.SHA512:
      return 'sha512';
    default:
      return undefined;
  }
}

export const PCR_BANKS = ['sha1', 'sha256', 'sha384', 'sha512'] as const;
export type PcrBank = (typeof PCR_BANKS)[number];

export function bankAlg(bank: PcrBank): number {
  return { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 }[bank];
}

/** PCR 0–23: the TPM PC Client profile's 24 PCRs, selected by a 3-byte bitmap. */
export const PCR_COUNT = 24;

/** One bank's PCRs, indices ascending: the order the TPM hashes them in a quote. */
export interface PcrBankSelection {
  bank: PcrBank;
  pcrs: number[];
}

/** TPML_PCR_SELECTION: u32 count, then per bank u16 hash, u8 sizeofSelect (3), the bitmap. */
export function writePcrSelection(selection: readonly PcrBankSelection[]): Uint8Array {
  const w = new WireWriter().u32(selection.length);
  for (const s of selection) {
    const bitmap = new Uint8Array(PCR_COUNT / 8);
    for (const i of s.pcrs) bitmap[i >> 3]! |= 1 << (i & 7);
    w.u16(bankAlg(s.bank)).u8(bitmap.length).bytes(bitmap);
  }
  return w.finish();
}

export function readPcrSelection(r: WireReader): PcrBankSelection[] {
  const count = r.u32('TPML_PCR_SELECTION.count');
  if (count > 16) throw new WireError(`TPML_PCR_SELECTION: ${count} banks is more than a TPM has`);
  const out: PcrBankSelection[] = [];
  for (let n = 0; n < count; n++) {
    const alg = r.u16('TPMS_PCR_SELECTION.hash');
    const bank = hashName(alg);
    if (bank === undefined) throw new WireError(`TPMS_PCR_SELECTION: unknown PCR bank algorithm 0x${alg.toString(16)}`);
    const bitmap = r.bytes(r.u8('TPMS_PCR_SELECTION.sizeofSelect'), 'TPMS_PCR_SELECTION.pcrSelect');
    const pcrs: number[] = [];
    bitmap.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) pcrs.push(i * 8 + bit);
    });
    out.push({ bank, pcrs });
  }
  return out;
}
