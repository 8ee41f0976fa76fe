/**
 * SPIFFE_ENDPOINT_SOCKET values (SPIFFE_Workload_Endpoint.md 4): `unix:///abs/path` or
 * `tcp://IP:port`. The checks, their order and their texts are go-spiffe's
 * (workloadapi.TargetFromAddress on a POSIX build), on top of a URI split that behaves like Go's
 * net/url.Parse, so a value that works for a go-spiffe workload works for sigil and fails the same
 * way. Where sigil is stricter than go-spiffe, the check says why.
 */
import { isIPv4, isIPv6 } from '../internal/ip.js';
import { SPIFFE_ENDPOINT_SOCKET_ENV } from './constants.js';
import { AddressRule, EndpointAddressError } from './errors.js';

export type EndpointAddress =
  /** `target` is a grpc-js target; grpc-js takes the path after `unix://` verbatim. */
  | { kind: 'unix'; path: string; target: string }
  /** `host` is the IP without brackets; `target` is `ip:port` or `[v6]:port`. */
  | { kind: 'tcp'; host: string; port: number; target: string };

export function parseEndpointAddress(value: string): EndpointAddress {
  const uri = parseUri(value);
  if (typeof uri === 'string') throw new EndpointAddressError(`${AddressRule.notUri}: ${uri}`);
  // No npipe: that scheme exists only in go-spiffe's Windows build, and sigil's agent relies on
  // Linux peer credentials, so sigil always behaves like a POSIX build.
  if (uri.scheme === 'unix') return unixAddress(uri);
  if (uri.scheme === 'tcp') return tcpAddress(uri);
  throw new EndpointAddressError(AddressRule.badScheme);
}

/**
 * The explicit address if given, else SPIFFE_ENDPOINT_SOCKET from `env` (passed in because spiffe/
 * never reads process state). go-spiffe also treats an empty explicit address as absent; an empty
 * variable, which go-spiffe parses and reports as a scheme error, is reported here as not
 * configured, because that is what an empty `SPIFFE_ENDPOINT_SOCKET=` almost always means.
 */
export function endpointAddressFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  explicit?: string,
): EndpointAddress {
  const value = explicit !== undefined && explicit !== '' ? explicit : env[SPIFFE_ENDPOINT_SOCKET_ENV];
  if (value === undefined || value === '') throw new EndpointAddressError(AddressRule.notConfigured);
  return parseEndpointAddress(value);
}

function unixAddress(u: Uri): EndpointAddress {
  const fail = (rule: string): never => {
    throw new EndpointAddressError(rule);
  };
  if (u.opaque !== '') fail(AddressRule.unixOpaque);
  if (u.hasUser) fail(AddressRule.unixUserInfo);
  if (u.host === '' && u.path.length === 0) fail(AddressRule.unixNoPath);
  if (u.rawQuery !== '') fail(AddressRule.unixQuery);
  if (u.fragment !== '') fail(AddressRule.unixFragment);
  // go-spiffe accepts `unix://foo` and `unix://foo/bar` (it never looks at the host), but the spec
  // forbids an authority and neither gRPC library can use one: grpc-go's unix resolver rejects a
  // non-empty authority at dial time, and grpc-js dials "/foo" for the first and the relative
  // "bar" for the second. The usual cause is a missing third slash (`unix://tmp/agent.sock`), so
  // sigil rejects it here, where the message can say how to fix it, rather than listen on or dial
  // a path the operator did not mean.
  if (u.host !== '') fail(AddressRule.unixAuthority);
  let path = '';
  try {
    path = strictUtf8.decode(u.path);
  } catch {
    fail(AddressRule.unixPathNotUtf8); // Node takes socket paths as strings, so bytes cannot pass
  }
  // The kernel reads a socket path only up to its first NUL, so a decoded %00 names another file.
  if (path.includes('\0')) fail(AddressRule.unixPathNul);
  return { kind: 'unix', path, target: `unix://${path}` };
}

function tcpAddress(u: Uri): EndpointAddress {
  const fail = (rule: string): never => {
    throw new EndpointAddressError(rule);
  };
  if (u.opaque !== '') fail(AddressRule.tcpOpaque);
  if (u.hasUser) fail(AddressRule.tcpUserInfo);
  if (u.host === '') fail(AddressRule.tcpNoHost);
  if (u.path.length > 0) fail(AddressRule.tcpPath);
  if (u.rawQuery !== '') fail(AddressRule.tcpQuery);
  if (u.fragment !== '') fail(AddressRule.tcpFragment);
  const { hostname, port, bracketed } = splitHostPort(u.host);
  // go-spiffe's net.ParseIP would also take an unbracketed IPv6 (`tcp://::1:8000`); RFC 3986 does
  // not, and where such a host ends and its port begins is a guess, so sigil wants brackets.
  // A zone (`fe80::1%eth0`) is refused as go-spiffe refuses it.
  if (!(bracketed ? isIPv6(hostname) : isIPv4(hostname))) fail(AddressRule.tcpNotIp);
  if (port === '') fail(AddressRule.tcpNoPort);
  // go-spiffe takes any number (`tcp://127.0.0.1:99999`), and port 0 too. Neither can be dialled,
  // and an agent told to listen on 0 gets a random port no workload can find, so sigil says so
  // when the address is read instead of failing later with a connection error.
  const n = Number(port);
  if (n < 1 || n > 65535) fail(AddressRule.tcpPortRange);
  return { kind: 'tcp', host: hostname, port: n, target: bracketed ? `[${hostname}]:${n}` : `${hostname}:${n}` };
}

// ---- URI splitting as Go's net/url.Parse does it, down to its error texts ----

/** The parts go-spiffe looks at, named after Go's url.URL fields. */
interface Uri {
  /** Lowercased. */
  scheme: string;
  opaque: string;
  /** A userinfo part was present, even an empty one. */
  hasUser: boolean;
  /** Percent-decoded, with brackets and port kept (Go's URL.Host). */
  host: string;
  /** Percent-decoded bytes. */
  path: Uint8Array;
  rawQuery: string;
  /** Undecoded; empty exactly when Go's decoded Fragment is. */
  fragment: string;
}

/** A syntax error inside the parser; parseUri turns it into Go's `parse "<url>": <reason>`. */
class UriSyntaxError extends Error {}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lenientUtf8 = new TextDecoder('utf-8');
const utf8 = new TextEncoder();

/** A parsed URI, or the text of Go's *url.Error for it. */
function parseUri(raw: string): Uri | string {
  const hash = raw.indexOf('#');
  const main = hash < 0 ? raw : raw.slice(0, hash);
  const fragment = hash < 0 ? '' : raw.slice(hash + 1);
  let uri: Uri;
  try {
    uri = parseMain(main);
  } catch (err) {
    if (err instanceof UriSyntaxError) return `parse ${goQuote(main)}: ${err.message}`;
    throw err;
  }
  try {
    unescape(fragment, 'fragment');
  } catch (err) {
    if (err instanceof UriSyntaxError) return `parse ${goQuote(raw)}: ${err.message}`;
    throw err;
  }
  return { ...uri, fragment };
}

function parseMain(s: string): Uri {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw new UriSyntaxError('net/url: invalid control character in URL');
  }
  const uri: Uri = { scheme: '', opaque: '', hasUser: false, host: '', path: new Uint8Array(0), rawQuery: '', fragment: '' };
  let rest: string;
  [uri.scheme, rest] = splitScheme(s);
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
    rest = rest.slice(0, -1); // Go's ForceQuery: a lone trailing '?' is an empty query
  } else {
    const q = rest.indexOf('?');
    if (q >= 0) [rest, uri.rawQuery] = [rest.slice(0, q), rest.slice(q + 1)];
  }
  if (!rest.startsWith('/')) {
    if (uri.scheme !== '') {
      uri.opaque = rest;
      return uri;
    }
    if ((rest.split('/')[0] ?? '').includes(':')) {
      throw new UriSyntaxError('first path segment in URL cannot contain colon');
    }
  }
  if ((uri.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    const slash = rest.indexOf('/', 2);
    const authority = slash < 0 ? rest.slice(2) : rest.slice(2, slash);
    rest = slash < 0 ? '' : rest.slice(slash);
    const at = authority.lastIndexOf('@');
    uri.host = parseHost(uri.scheme, authority.slice(at + 1));
    if (at >= 0) {
      parseUserinfo(authority.slice(0, at));
      uri.hasUser = true;
    }
  }
  uri.path = unescape(rest, 'path');
  return uri;
}

/** [scheme (lowercased), rest]; no scheme unless it is [A-Za-z][A-Za-z0-9+.-]* before a ':'. */
function splitScheme(s: string): [string, string] {
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? '';
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+.-]/.test(c)) {
      if (i === 0) return ['', s];
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new UriSyntaxError('missing protocol scheme');
      return [s.slice(0, i).toLowerCase(), s.slice(i + 1)];
    }
    return ['', s];
  }
  return ['', s];
}

function parseHost(scheme: string, host: string): string {
  const open = host.lastIndexOf('[');
  if (open > 0) throw new UriSyntaxError('invalid IP-literal');
  if (open === 0) {
    const close = host.lastIndexOf(']');
    if (close < 0) throw new UriSyntaxError("missing ']' in host");
    const colonPort = checkPort(host.slice(close + 1));
    const inside = host.slice(1, close);
    const zoneAt = inside.indexOf('%25');
    const name =
      zoneAt < 0
        ? decodeHost(inside, 'host')
        : decodeHost(inside.slice(0, zoneAt), 'host') + decodeHost(inside.slice(zoneAt), 'zone');
    // Go's netip.ParseAddr check; Go's detail text after "invalid host: " differs from this one.
    const percent = name.indexOf('%');
    const addr = percent < 0 ? name : name.slice(0, percent);
    if (isIPv4(addr) && percent < 0) throw new UriSyntaxError('invalid IP-literal');
    if (!isIPv6(addr) || percent === name.length - 1) {
      throw new UriSyntaxError(`invalid host: ParseAddr(${goQuote(name)}): not an IP address`);
    }
    return `[${name}]${colonPort}`;
  }
  const first = host.indexOf(':');
  if (first >= 0) {
    // Go reads the port after the first colon for http(s) and after the last one otherwise.
    checkPort(host.slice(scheme === 'http' || scheme === 'https' ? first : host.lastIndexOf(':')));
  }
  return decodeHost(host, 'host');
}

function checkPort(colonPort: string): string {
  if (colonPort !== '' && !/^:[0-9]*$/.test(colonPort)) {
    throw new UriSyntaxError(`invalid port ${goQuote(colonPort)} after host`);
  }
  return colonPort;
}

function parseUserinfo(userinfo: string): void {
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(userinfo)) {
    throw new UriSyntaxError('net/url: invalid userinfo');
  }
  const colon = userinfo.indexOf(':');
  if (colon < 0) unescape(userinfo, 'userinfo');
  else {
    unescape(userinfo.slice(0, colon), 'userinfo');
    unescape(userinfo.slice(colon + 1), 'userinfo');
  }
}

/** ASCII bytes Go leaves unescaped in a host: unreserved, sub-delims, and `:[]<>"`. */
const HOST_BYTE = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]$/;

type Mode = 'host' | 'zone' | 'path' | 'userinfo' | 'fragment';

function decodeHost(s: string, mode: 'host' | 'zone'): string {
  return lenientUtf8.decode(unescape(s, mode));
}

/** Go's url.unescape: checks the escapes (and host characters) and decodes to bytes. */
function unescape(s: string, mode: Mode): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      const escape = s.slice(i, i + 3);
      if (hi < 0 || lo < 0) throw new UriSyntaxError(`invalid URL escape ${goQuote(escape)}`);
      const v = hi * 16 + lo;
      // A host may escape only non-ASCII bytes, except the %25 that starts an IPv6 zone
      // (RFC 6874); a zone may escape what a host could hold anyway, and a space.
      const badHost = mode === 'host' && hi < 8 && v !== 0x25;
      const badZone = mode === 'zone' && v !== 0x25 && v !== 0x20 && !(v < 0x80 && HOST_BYTE.test(String.fromCharCode(v)));
      if (badHost || badZone) throw new UriSyntaxError(`invalid URL escape ${goQuote(escape)}`);
      out.push(v);
      i += 3;
      continue;
    }
    if ((mode === 'host' || mode === 'zone') && c < 0x80 && !HOST_BYTE.test(s.charAt(i))) {
      throw new UriSyntaxError(`invalid character ${goQuote(s.charAt(i))} in host name`);
    }
    const cp = s.codePointAt(i) ?? c;
    const ch = String.fromCodePoint(cp);
    out.push(...utf8.encode(ch));
    i += ch.length;
  }
  return Uint8Array.from(out);
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** Go's URL.Hostname and URL.Port. */
function splitHostPort(host: string): { hostname: string; port: string; bracketed: boolean } {
  let hostname = host;
  let port = '';
  const colon = host.lastIndexOf(':');
  if (colon >= 0 && /^:[0-9]*$/.test(host.slice(colon))) {
    [hostname, port] = [host.slice(0, colon), host.slice(colon + 1)];
  }
  const bracketed = hostname.startsWith('[') && hostname.endsWith(']');
  return { hostname: bracketed ? hostname.slice(1, -1) : hostname, port, bracketed };
}

const QUOTE_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/** Go's strconv.Quote for the characters a URL can hold (Go also escapes some rarer Unicode). */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    const known = QUOTE_ESCAPES[ch];
    if (known !== undefined) out += known;
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c >= 0x80 && c < 0xa0) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
