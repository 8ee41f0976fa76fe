/**
 * A small DER encoder for the shapes X.509 certificates need (X.690 DER, RFC 5280 times).
 *
 * Every function returns the complete encoding (tag, length, contents) as one Buffer. Constructed
 * values take their children already encoded and copy them into a single allocation, so building a
 * certificate costs one allocation per nesting level and never a per-byte array. Encodings that do
 * not change (OIDs, constant extensions) are meant to be computed once and reused by the caller;
 * `oid()` caches on its own because OIDs are looked up by string on hot paths.
 */
import { contextTag as tagByte, DerError, Tag } from './der.js';

// Re-exported so an encoder's caller needs one import for the tags and the error it may throw.
export { DerError, Tag };

/**
 * A value that cannot be DER-encoded (bad OID text, out-of-range time, illegal characters…). The
 * `der:` prefix tells an encoding failure that surfaces through issuance from a reading failure.
 */
function encodingError(message: string): DerError {
  return new DerError(`der: ${message}`);
}

const CONSTRUCTED = 0x20;

function headerLength(len: number): number {
  if (len < 0x80) return 2;
  if (len < 0x100) return 3;
  if (len < 0x10000) return 4;
  if (len < 0x1000000) return 5;
  return 6;
}

/** Writes tag and definite length at `at`; returns where the contents start. */
function writeHeader(out: Buffer, at: number, tag: number, len: number): number {
  out[at++] = tag;
  if (len < 0x80) {
    out[at++] = len;
    return at;
  }
  const n = headerLength(len) - 2;
  out[at++] = 0x80 | n;
  for (let shift = (n - 1) * 8; shift >= 0; shift -= 8) out[at++] = (len >>> shift) & 0xff;
  return at;
}

/** A primitive element: tag + length + the given contents. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(headerLength(content.length) + content.length);
  out.set(content, writeHeader(out, 0, tag, content.length));
  return out;
}

/** A constructed element whose contents are the concatenation of already-encoded parts. */
export function constructed(tag: number, parts: readonly Uint8Array[]): Buffer {
  let len = 0;
  for (const p of parts) len += p.length;
  const out = Buffer.allocUnsafe(headerLength(len) + len);
  let at = writeHeader(out, 0, tag, len);
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function sequence(...parts: Uint8Array[]): Buffer {
  return constructed(Tag.SEQUENCE, parts);
}

/** SET OF: DER (X.690 11.6) orders the elements by their encodings, so they are sorted here. */
export function setOf(...parts: Uint8Array[]): Buffer {
  const sorted = parts.length < 2 ? parts : [...parts].sort((a, b) => Buffer.compare(a, b));
  return constructed(Tag.SET, sorted);
}

/** INTEGER holding the unsigned big-endian magnitude `bytes` (minimal, 0x00-padded if needed). */
export function integerFromBytes(bytes: Uint8Array): Buffer {
  let i = 0;
  while (i < bytes.length && bytes[i] === 0) i++;
  if (i === bytes.length) return Buffer.from([Tag.INTEGER, 1, 0]);
  const pad = (bytes[i]! & 0x80) !== 0 ? 1 : 0;
  const len = bytes.length - i + pad;
  const out = Buffer.allocUnsafe(headerLength(len) + len);
  let at = writeHeader(out, 0, Tag.INTEGER, len);
  if (pad) out[at++] = 0;
  out.set(bytes.subarray(i), at);
  return out;
}

/** INTEGER from a number or bigint, negative values in minimal two's complement. */
export function integer(value: number | bigint): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw encodingError(`integer ${value} is not a safe integer`);
  }
  let v = BigInt(value);
  if (v < 0n) {
    let bytes = 1;
    while (v < -(1n << BigInt(bytes * 8 - 1))) bytes++;
    v += 1n << BigInt(bytes * 8);
    return tlv(Tag.INTEGER, Buffer.from(v.toString(16).padStart(bytes * 2, '0'), 'hex'));
  }
  const hex = v.toString(16);
  return integerFromBytes(Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex'));
}

const oidCache = new Map<string, Buffer>();
const OID_CACHE_LIMIT = 4096;
const OID_TEXT = /^(0|[1-9]\d*)(\.(0|[1-9]\d*))+$/;

/** OBJECT IDENTIFIER from dotted text ("1.2.840.10045.2.1"). Encodings are cached. */
export function oid(dotted: string): Buffer {
  const hit = oidCache.get(dotted);
  if (hit !== undefined) return hit;
  if (!OID_TEXT.test(dotted)) throw encodingError(`invalid object identifier "${dotted}"`);
  const arcs = dotted.split('.').map((a) => BigInt(a));
  const [first, second] = arcs as [bigint, bigint];
  if (first > 2n || (first < 2n && second >= 40n)) {
    throw encodingError(`invalid object identifier "${dotted}"`);
  }
  const bytes: number[] = [];
  for (const arc of [first * 40n + second, ...arcs.slice(2)]) {
    // Base 128, most significant group first, high bit set on all but the last group.
    const groups = [Number(arc & 0x7fn)];
    for (let rest = arc >> 7n; rest > 0n; rest >>= 7n) groups.push(Number(rest & 0x7fn) | 0x80);
    for (let i = groups.length - 1; i >= 0; i--) bytes.push(groups[i]!);
  }
  const der = tlv(Tag.OID, Uint8Array.from(bytes));
  if (oidCache.size < OID_CACHE_LIMIT) oidCache.set(dotted, der);
  return der;
}

/** BIT STRING; DER requires the `unusedBits` trailing bits of the last byte to be zero. */
export function bitString(bytes: Uint8Array, unusedBits = 0): Buffer {
  if (!Number.isInteger(unusedBits) || unusedBits < 0 || unusedBits > 7) {
    throw encodingError(`bit string unused bits must be 0..7, got ${unusedBits}`);
  }
  if (unusedBits > 0 && (bytes.length === 0 || (bytes[bytes.length - 1]! & ((1 << unusedBits) - 1)) !== 0)) {
    throw encodingError('bit string unused bits must be present and zero');
  }
  const len = bytes.length + 1;
  const out = Buffer.allocUnsafe(headerLength(len) + len);
  const at = writeHeader(out, 0, Tag.BIT_STRING, len);
  out[at] = unusedBits;
  out.set(bytes, at + 1);
  return out;
}

/**
 * BIT STRING for an ASN.1 named bit list (KeyUsage and the like), given the numbers of the bits
 * that are set. DER drops trailing zero bits (X.690 11.2.2), so the length depends on the highest.
 */
export function namedBitString(bits: readonly number[]): Buffer {
  if (bits.length === 0) return bitString(new Uint8Array(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const b of bits) {
    if (!Number.isInteger(b) || b < 0) throw encodingError(`invalid named bit ${b}`);
    bytes[b >> 3] |= 0x80 >> (b & 7);
  }
  return bitString(bytes, 7 - (highest & 7));
}

export function octetString(bytes: Uint8Array): Buffer {
  return tlv(Tag.OCTET_STRING, bytes);
}

const TRUE = Buffer.from([Tag.BOOLEAN, 1, 0xff]);
const FALSE = Buffer.from([Tag.BOOLEAN, 1, 0x00]);

/** BOOLEAN; DER encodes TRUE as 0xFF. */
export function boolean(value: boolean): Buffer {
  return value ? TRUE : FALSE;
}

export const NULL: Buffer = Buffer.from([Tag.NULL, 0]);

function two(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

function timeDigits(date: Date, fourDigitYear: boolean): Buffer {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw encodingError('invalid date');
  const y = date.getUTCFullYear();
  if (y < 0 || y > 9999) throw encodingError(`year ${y} cannot be encoded`);
  const year = fourDigitYear ? String(y).padStart(4, '0') : two(y % 100);
  // Whole seconds with "Z" and no fraction: the only form RFC 5280 4.1.2.5 allows.
  const text =
    year + two(date.getUTCMonth() + 1) + two(date.getUTCDate()) +
    two(date.getUTCHours()) + two(date.getUTCMinutes()) + two(date.getUTCSeconds()) + 'Z';
  return Buffer.from(text, 'latin1');
}

/** UTCTime YYMMDDHHMMSSZ; only years 1950–2049 are representable. */
export function utcTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  if (!(y >= 1950 && y <= 2049)) throw encodingError(`UTCTime cannot hold year ${y}`);
  return tlv(Tag.UTC_TIME, timeDigits(date, false));
}

/** GeneralizedTime YYYYMMDDHHMMSSZ (milliseconds are dropped, never rounded up). */
export function generalizedTime(date: Date): Buffer {
  return tlv(Tag.GENERALIZED_TIME, timeDigits(date, true));
}

/** An X.509 Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
export function x509Time(date: Date): Buffer {
  const y = date.getUTCFullYear();
  return y >= 1950 && y <= 2049 ? utcTime(date) : generalizedTime(date);
}

export function utf8String(text: string): Buffer {
  return tlv(Tag.UTF8_STRING, Buffer.from(text, 'utf8'));
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** PrintableString: letters, digits, space and '()+,-./:=? only (X.680 41.4). */
export function printableString(text: string): Buffer {
  if (!PRINTABLE.test(text)) throw encodingError(`"${text}" is not a PrintableString`);
  return tlv(Tag.PRINTABLE_STRING, Buffer.from(text, 'latin1'));
}

export function isPrintableString(text: string): boolean {
  return PRINTABLE.test(text);
}

/** The bytes of an IA5String (ASCII); used with implicit tags for URI and DNS names. */
export function ia5Bytes(text: string): Buffer {
  if (!/^[\x00-\x7f]*$/.test(text)) throw encodingError(`"${text}" is not an IA5String`);
  return Buffer.from(text, 'latin1');
}

export function ia5String(text: string): Buffer {
  return tlv(Tag.IA5_STRING, ia5Bytes(text));
}

function contextTag(tagNumber: number, isConstructed: boolean): number {
  if (!Number.isInteger(tagNumber) || tagNumber < 0 || tagNumber > 30) {
    throw encodingError(`context tag [${tagNumber}] is out of range 0..30`);
  }
  return tagByte(tagNumber, isConstructed);
}

/** [n] EXPLICIT: a constructed context-specific wrapper around one encoded element. */
export function explicit(tagNumber: number, inner: Uint8Array): Buffer {
  return constructed(contextTag(tagNumber, true), [inner]);
}

/** [n] IMPLICIT with primitive contents (e.g. GeneralName dNSName is [2] + IA5 bytes). */
export function implicitPrimitive(tagNumber: number, content: Uint8Array): Buffer {
  return tlv(contextTag(tagNumber, false), content);
}

/** [n] IMPLICIT of an already-encoded element: same length and contents, tag replaced. */
export function implicit(tagNumber: number, inner: Uint8Array): Buffer {
  if (inner.length < 2) throw encodingError('implicit tagging needs an encoded element');
  const out = Buffer.from(inner);
  out[0] = contextTag(tagNumber, (inner[0]! & CONSTRUCTED) !== 0);
  return out;
}
