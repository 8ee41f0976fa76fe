/**
 * ECDSA signature encodings. JWS (RFC 7518 3.4) carries r||s, each left-padded to the curve's
 * size; X.509 tooling, OpenSSL and node:crypto's default produce the DER SEQUENCE { r, s }.
 */
import { children, content, DerError, readWhole, Tag, type Tlv } from '../internal/der.js';

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → r||s of 2×`size` bytes; undefined when malformed. */
export function derToRawEcdsa(der: Uint8Array, size: number): Uint8Array | undefined {
  let ints: Tlv[];
  try {
    ints = children(der, readWhole(der, Tag.SEQUENCE, 'ECDSA-Sig-Value'));
  } catch (err) {
    if (err instanceof DerError) return undefined;
    throw err;
  }
  if (ints.length !== 2) return undefined;
  const out = new Uint8Array(2 * size);
  for (const [slot, int] of ints.entries()) {
    const value = positiveInteger(der, int);
    if (value === undefined || value.length > size) return undefined;
    out.set(value, slot * size + size - value.length);
  }
  return out;
}

/** A DER INTEGER that must be positive and minimally encoded; its value without leading zeros. */
function positiveInteger(der: Uint8Array, tlv: Tlv): Uint8Array | undefined {
  if (tlv.tag !== Tag.INTEGER) return undefined;
  const bytes = content(der, tlv);
  const first = bytes[0];
  if (first === undefined || first >= 0x80) return undefined;
  if (first === 0 && bytes.length > 1 && bytes[1]! < 0x80) return undefined;
  let skip = 0;
  while (skip < bytes.length - 1 && bytes[skip] === 0) skip++;
  return bytes.subarray(skip);
}
