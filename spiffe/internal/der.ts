/**
 * A minimal DER reader (X.690): enough to walk certificates, keys and their extensions without a
 * full ASN.1 library. It reads by offset into the caller's buffer and copies nothing, so walking a
 * certificate costs a few microseconds. Strict where laxness would let two readers disagree on
 * what a structure says (indefinite lengths, non-minimal lengths, trailing bytes); lenient nowhere.
 *
 * The tag numbers and DerError live here for der-writer.ts too, so both sides agree on them.
 */
import { SigilError } from '../errors.js';

/**
 * Why an element's framing was refused. Callers that keep their own error texts (the bundle's,
 * which match go-spiffe's) word them from this rather than from the message.
 */
export type DerFault = 'truncated' | 'indefinite-length' | 'length-too-large' | 'non-minimal-length' | 'malformed';

/** DER that cannot be read, or a value that cannot be encoded. */
export class DerError extends SigilError {
  readonly fault: DerFault;

  constructor(message: string, fault: DerFault = 'malformed') {
    super('SIGIL_DER_INVALID', message);
    this.fault = fault;
  }
}

/** Universal tags, and the context-specific forms certificates use. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** `[n]` context-specific tag byte, primitive or constructed; n must be below 31 (one-byte tags). */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n;
}

/** One element: `tag` is the identifier byte (class, constructed bit and number < 31). */
export interface Tlv {
  readonly tag: number;
  /** Offset of the identifier byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly contentStart: number;
  /** Offset just past the element. */
  readonly end: number;
}

/** The element at `offset`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, offset = 0, limit = buf.length): Tlv {
  if (offset + 2 > limit) throw new DerError('truncated element', 'truncated');
  const tag = buf[offset]!;
  // Certificates never use tag numbers >= 31; refusing them keeps Tlv.tag a single byte.
  if ((tag & 0x1f) === 0x1f) throw new DerError('unsupported high tag number');
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DerError('indefinite length is not DER', 'indefinite-length');
    if (n > 4) throw new DerError('element too long', 'length-too-large');
    if (pos + n > limit) throw new DerError('truncated length', 'truncated');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
    if (buf[offset + 2] === 0 || length < 0x80) throw new DerError('non-minimal length', 'non-minimal-length');
  }
  const end = pos + length;
  if (end > limit) throw new DerError('truncated element', 'truncated');
  return { tag, start: offset, contentStart: pos, end };
}

/** The element at `offset`, which must have tag `tag`. */
export function expectTlv(buf: Uint8Array, tag: number, offset = 0, limit = buf.length, what = 'element'): Tlv {
  const tlv = readTlv(buf, offset, limit);
  if (tlv.tag !== tag) throw new DerError(`expected ${what} (tag 0x${hex(tag)}), got tag 0x${hex(tlv.tag)}`);
  return tlv;
}

/** The single element that fills `buf` exactly (no trailing bytes). */
export function readWhole(buf: Uint8Array, tag: number, what = 'element'): Tlv {
  const tlv = expectTlv(buf, tag, 0, buf.length, what);
  if (tlv.end !== buf.length) throw new DerError(`trailing data after ${what}`);
  return tlv;
}

/** The children of a constructed element, in order. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  if ((parent.tag & 0x20) === 0) throw new DerError('primitive element has no children');
  const out: Tlv[] = [];
  for (let pos = parent.contentStart; pos < parent.end; ) {
    const child = readTlv(buf, pos, parent.end);
    out.push(child);
    pos = child.end;
  }
  return out;
}

/** Splits concatenated top-level elements (e.g. the DER certificates of a Workload API SVID). */
export function splitConcatenated(buf: Uint8Array, tag: number, what = 'element'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const tlv = expectTlv(buf, tag, pos, buf.length, what);
    out.push(buf.subarray(tlv.start, tlv.end));
    pos = tlv.end;
  }
  return out;
}

export function content(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.contentStart, tlv.end);
}

/** The whole encoding of an element, header included (for byte-exact name comparison). */
export function encoding(buf: Uint8Array, tlv: Tlv): Uint8Array {
  return buf.subarray(tlv.start, tlv.end);
}

export function decodeOid(bytes: Uint8Array): string {
  if (bytes.length === 0) throw new DerError('empty OID');
  if (bytes[bytes.length - 1]! & 0x80) throw new DerError('truncated OID');
  let out = '';
  // Numbers while exact (every real OID), BigInt past 2^53 so no arc is ever rounded.
  let value: number | bigint = 0;
  let arcStart = true;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (arcStart && b === 0x80) throw new DerError('non-minimal OID arc');
    arcStart = false;
    if (typeof value === 'number' && value >= 2 ** 45) value = BigInt(value);
    value = typeof value === 'number' ? value * 128 + (b & 0x7f) : (value << 7n) | BigInt(b & 0x7f);
    if (b & 0x80) continue;
    if (out === '') {
      const top = value < 40 ? 0 : value < 80 ? 1 : 2;
      const second = typeof value === 'number' ? value - top * 40 : value - BigInt(top * 40);
      out = `${top}.${second}`;
    } else {
      out += `.${value}`;
    }
    value = 0;
    arcStart = true;
  }
  return out;
}

export function decodeBoolean(bytes: Uint8Array): boolean {
  if (bytes.length !== 1 || (bytes[0] !== 0x00 && bytes[0] !== 0xff)) throw new DerError('invalid BOOLEAN');
  return bytes[0] === 0xff;
}

/** A non-negative INTEGER small enough for a number (path lengths, versions). */
export function decodeSmallUint(bytes: Uint8Array): number {
  if (bytes.length === 0) throw new DerError('empty INTEGER');
  if (bytes[0]! & 0x80) throw new DerError('negative INTEGER');
  if (bytes.length > 1 && bytes[0] === 0 && !(bytes[1]! & 0x80)) throw new DerError('non-minimal INTEGER');
  if (bytes.length > 5) throw new DerError('INTEGER too large');
  let n = 0;
  for (const b of bytes) n = n * 256 + b;
  if (n > 0x7fffffff) throw new DerError('INTEGER too large');
  return n;
}

/** A BIT STRING's bits as a number, bit 0 (the first, most significant bit) in the lowest place. */
export function decodeBitFlags(bytes: Uint8Array): number {
  if (bytes.length === 0 || bytes[0]! > 7) throw new DerError('invalid BIT STRING');
  let flags = 0;
  // Flags past bit 31 have no meaning in the extensions read here (keyUsage has 9 bits).
  const n = Math.min(bytes.length - 1, 4);
  for (let i = 0; i < n; i++) {
    const byte = bytes[i + 1]!;
    for (let bit = 0; bit < 8; bit++) if (byte & (0x80 >> bit)) flags |= 1 << (i * 8 + bit);
  }
  return flags >>> 0;
}

/** UTCTime (YYMMDDHHMMSSZ, years 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSSZ), as RFC 5280 4.1.2.5 allows. */
export function decodeTime(tlv: Tlv, bytes: Uint8Array): Date {
  const text = Buffer.from(bytes).toString('latin1');
  const m =
    tlv.tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
      : tlv.tag === Tag.GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text)
        : null;
  if (m === null) throw new DerError(`invalid time ${JSON.stringify(text)}`);
  let year = Number(m[1]);
  if (tlv.tag === Tag.UTC_TIME) year += year < 50 ? 2000 : 1900;
  const [month, day, hour, minute, second] = m.slice(2).map(Number) as [number, number, number, number, number];
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not map years 0–99 to 1900–1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  // Date.UTC rolls 31 February into March; a certificate saying so is malformed, not early March.
  if (d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    throw new DerError(`invalid time ${JSON.stringify(text)}`);
  }
  return d;
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
