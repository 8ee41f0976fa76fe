// Character classes of SPIFFE-ID.md 2.1/2.2, as byte tables so a scan is one lookup per char.
// Anything outside ASCII is outside both classes, so scanning UTF-16 code units is exact.

function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (let i = 0; i < chars.length; i++) t[chars.charCodeAt(i)] = 1;
  return t;
}

const lower = 'abcdefghijklmnopqrstuvwxyz';
const digits = '0123456789';
const trustDomainTable = table(lower + digits + '.-_');
const pathTable = table(lower + lower.toUpperCase() + digits + '.-_');

export function isTrustDomainChar(code: number): boolean {
  return code < 128 && trustDomainTable[code] === 1;
}

export function isPathChar(code: number): boolean {
  return code < 128 && pathTable[code] === 1;
}

/** UTF-8 length of a string, without allocating; SPIFFE's length limits count bytes. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
