/**
 * RFC 5280 4.2.1.10 name constraints of one CA, applied to the leaf's subjectAltNames (as Go's
 * verifier does: the leaf's names, not the subject DN). URI, DNS, email and IP forms are
 * processed; a critical extension that constrains any other form is refused outright, since a
 * constraint that cannot be evaluated must not be ignored.
 */
import type { GeneralName, NameConstraints } from '../internal/x509.js';

type Kind = 'uri' | 'dns' | 'email' | 'ip';

const LABEL: Record<Kind, string> = { uri: 'URI', dns: 'DNS name', email: 'email address', ip: 'IP address' };

const NOT_AUTHORIZED = 'a root or intermediate certificate is not authorized to sign for this name';

/** Why `names` break the constraints, or undefined when they satisfy them. */
export function nameConstraintsProblem(nc: NameConstraints, names: readonly GeneralName[]): string | undefined {
  if (nc.critical && [...nc.permitted, ...nc.excluded].some((c) => !isProcessed(c.kind))) {
    return 'unhandled critical extension: name constraints of an unsupported name form';
  }
  for (const name of names) {
    if (!isProcessed(name.kind)) continue;
    const kind = name.kind;
    const shown = display(name);
    const permitted = nc.permitted.filter((c) => c.kind === kind);
    const excluded = nc.excluded.filter((c) => c.kind === kind);
    if (permitted.length === 0 && excluded.length === 0) continue;
    let host: string | undefined;
    if (name.kind === 'uri') {
      const h = uriHost(name.value);
      if (typeof h !== 'string') return `${NOT_AUTHORIZED}: ${h.problem}`;
      host = h;
    }
    for (const c of excluded) {
      if (matches(name, c, host)) return `${NOT_AUTHORIZED}: ${LABEL[kind]} ${shown} is excluded by constraint ${display(c)}`;
    }
    if (permitted.length > 0 && !permitted.some((c) => matches(name, c, host))) {
      return `${NOT_AUTHORIZED}: ${LABEL[kind]} ${shown} is not permitted by any constraint`;
    }
  }
  return undefined;
}

function isProcessed(kind: GeneralName['kind']): kind is Kind {
  return kind === 'uri' || kind === 'dns' || kind === 'email' || kind === 'ip';
}

function matches(name: GeneralName, c: GeneralName, uriHostName: string | undefined): boolean {
  if (name.kind === 'ip' && c.kind === 'ip') return ipInRange(name.value, c.value);
  if (name.kind === 'uri' && c.kind === 'uri') return hostMatches(uriHostName ?? '', c.value);
  if (name.kind === 'dns' && c.kind === 'dns') return dnsMatches(name.value, c.value);
  if (name.kind === 'email' && c.kind === 'email') return emailMatches(name.value, c.value);
  return false;
}

/**
 * The host of a URI. RFC 5280 requires rejecting a URI without a host name, or with an IP address
 * as its host, when URI constraints apply.
 */
function uriHost(uri: string): string | { problem: string } {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri)?.[1] ?? '';
  const host = authority.slice(authority.lastIndexOf('@') + 1).replace(/:\d*$/, '');
  if (host === '') return { problem: `URI with empty host (${JSON.stringify(uri)}) cannot be matched against constraints` };
  if (host.startsWith('[') || /^\d{1,3}(\.\d{1,3}){3}$/.test(host)) {
    return { problem: `URI with IP (${JSON.stringify(uri)}) cannot be matched against constraints` };
  }
  return host.toLowerCase();
}

/** URI and email-domain form: ".example.com" means any subdomain; otherwise exactly that host. */
function hostMatches(host: string, constraint: string): boolean {
  const c = constraint.toLowerCase();
  const h = host.toLowerCase();
  return c.startsWith('.') ? h.endsWith(c) && h.length > c.length : h === c;
}

/** DNS form: the name itself or any name with labels added on the left ("" matches every name). */
function dnsMatches(name: string, constraint: string): boolean {
  const c = constraint.toLowerCase();
  const n = name.toLowerCase().replace(/\.$/, '');
  if (c === '') return true;
  if (c.startsWith('.')) return n.endsWith(c);
  return n === c || n.endsWith('.' + c);
}

/** Email form: a full mailbox, a host ("example.com") or a domain (".example.com"). */
function emailMatches(mailbox: string, constraint: string): boolean {
  const at = mailbox.lastIndexOf('@');
  if (at < 0) return false;
  const local = mailbox.slice(0, at);
  const domain = mailbox.slice(at + 1);
  const cAt = constraint.lastIndexOf('@');
  if (cAt >= 0) {
    // Local parts are case-sensitive (RFC 5321 2.4); domains are not.
    return local === constraint.slice(0, cAt) && domain.toLowerCase() === constraint.slice(cAt + 1).toLowerCase();
  }
  return hostMatches(domain, constraint);
}

/** An IP constraint is address then mask (8 bytes for IPv4, 32 for IPv6). */
function ipInRange(ip: Uint8Array, range: Uint8Array): boolean {
  if (range.length !== ip.length * 2) return false;
  for (let i = 0; i < ip.length; i++) {
    const mask = range[ip.length + i]!;
    if ((ip[i]! & mask) !== (range[i]! & mask)) return false;
  }
  return true;
}

function display(n: GeneralName): string {
  switch (n.kind) {
    case 'ip':
      return JSON.stringify(formatIp(n.value));
    case 'uri':
    case 'dns':
    case 'email':
      return JSON.stringify(n.value);
    default:
      return JSON.stringify(n.kind);
  }
}

function formatIp(bytes: Uint8Array): string {
  const addr = (b: Uint8Array): string =>
    b.length === 4
      ? [...b].join('.')
      : Array.from({ length: b.length / 2 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':');
  if (bytes.length === 8 || bytes.length === 32) {
    const half = bytes.length / 2;
    return `${addr(bytes.subarray(0, half))}/${addr(bytes.subarray(half))}`;
  }
  return bytes.length === 4 || bytes.length === 16 ? addr(bytes) : Buffer.from(bytes).toString('hex');
}
