/**
 * IP address literals, read as Go's net.ParseIP reads them (without zones), because node:net is off
 * limits in spiffe/. The endpoint address parser checks a host with these; the X.509 profile turns
 * an IP SAN into the 4 or 16 octets of a GeneralName iPAddress.
 */

/** Dotted-quad IPv4 as 4 octets, or undefined. */
export function parseIPv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  // Leading zeros are refused as Go (since 1.17) refuses them: some parsers read them as octal.
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return undefined;
  return Uint8Array.from(parts, Number);
}

/** IPv6 text (RFC 4291 2.2, an embedded IPv4 tail allowed) as 16 octets, or undefined. */
export function parseIPv6(s: string): Uint8Array | undefined {
  const lastColon = s.lastIndexOf(':');
  if (lastColon < 0) return undefined;
  const tail = s.slice(lastColon + 1);
  if (!tail.includes('.')) return parseHexIPv6(s);
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) fills the last two groups.
  const v4 = parseIPv4(tail);
  const out = v4 && parseHexIPv6(`${s.slice(0, lastColon + 1)}0:0`);
  out?.set(v4!, 12);
  return out;
}

/** An IPv4 or IPv6 literal as 4 or 16 octets, or undefined. */
export function parseIP(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseIPv6(s) : parseIPv4(s);
}

export function isIPv4(s: string): boolean {
  return parseIPv4(s) !== undefined;
}

export function isIPv6(s: string): boolean {
  return parseIPv6(s) !== undefined;
}

function parseHexIPv6(s: string): Uint8Array | undefined {
  const halves = s.split('::');
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  let head: string[];
  let tail: string[] = [];
  if (halves.length === 1) {
    head = groups(s);
    if (head.length !== 8) return undefined;
  } else {
    if (halves.length !== 2) return undefined;
    head = groups(halves[0] ?? '');
    tail = groups(halves[1] ?? '');
    // One '::' stands for at least one zero group.
    if (head.length + tail.length > 7) return undefined;
  }
  if (![...head, ...tail].every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return undefined;
  const out = new Uint8Array(16);
  const put = (g: string, i: number): void => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  };
  head.forEach((g, i) => put(g, i));
  tail.forEach((g, i) => put(g, 8 - tail.length + i));
  return out;
}
