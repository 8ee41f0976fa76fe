/**
 * ECDSA signature encodings. JWS (RFC 7518 3.4) carries r||s, each left-padded to the curve's
 * size; X.509 tooling, OpenSSL and node:crypto's default produce the DER SEQUENCE { r, s }.
 */

/** DER `SEQUENCE { INTEGER r, INTEGER s }` → r||s of 2×`size` bytes; undefined when malformed. */
export function derToRawEcdsa(der: Uint8Array, size: number): Uint8Array | undefined {
  if (der[0] !== 0x30 || der.length < 2) return undefined;
  let offset = 2;
  let length = der[1] ?? 0;
  if (length === 0x81) {
    // Long form is only legal for lengths that do not fit the short form.
    length = der[2] ?? 0;
    if (length < 0x80) return undefined;
    offset = 3;
  } else if (length > 0x80) {
    return undefined;
  }
  if (offset + length !== der.length) return undefined;

  const out = new Uint8Array(2 * size);
  for (const slot of [0, 1]) {
    const int = readPositiveInteger(der, offset);
    if (int === undefined || int.value.length > size) return undefined;
    out.set(int.value, slot * size + size - int.value.length);
    offset = int.next;
  }
  return offset === der.length ? out : undefined;
}

/** A DER INTEGER that must be positive and minimally encoded; its value without leading zeros. */
function readPositiveInteger(der: Uint8Array, offset: number): { value: Uint8Array; next: number } | undefined {
  if (der[offset] !== 0x02) return undefined;
  const length = der[offset + 1] ?? 0x80;
  if (length === 0 || length >= 0x80) return undefined;
  const start = offset + 2;
  const end = start + length;
  if (end > der.length) return undefined;
  const first = der[start] ?? 0;
  if (first >= 0x80) return undefined;
  if (first === 0 && length > 1 && (der[start + 1] ?? 0) < 0x80) return undefined;
  let skip = start;
  while (skip < end - 1 && der[skip] === 0) skip++;
  return { value: der.subarray(skip, end), next: end };
}
