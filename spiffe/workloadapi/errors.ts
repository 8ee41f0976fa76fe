import { SigilError } from '../errors.js';

const tcp = 'workload endpoint tcp socket URI';
const unix = 'workload endpoint unix socket URI';

/**
 * The rules an endpoint address can break. Where go-spiffe has the rule, the text is go-spiffe's
 * (its address parser names its subject instead of using a package prefix), so an operator sees
 * the same words from sigil, SPIRE and go-spiffe workloads. The rules marked "sigil" are stricter
 * than go-spiffe; address.ts says why at each.
 */
export const AddressRule = {
  notConfigured: 'workload endpoint socket address is not configured',
  /** Followed by ": " and the URI syntax error, worded as Go's net/url words it. */
  notUri: 'workload endpoint socket is not a valid URI',
  badScheme: 'workload endpoint socket URI must have a "tcp" or "unix" scheme',

  tcpOpaque: `${tcp} must not be opaque`,
  tcpUserInfo: `${tcp} must not include user info`,
  tcpNoHost: `${tcp} must include a host`,
  tcpPath: `${tcp} must not include a path`,
  tcpQuery: `${tcp} must not include query values`,
  tcpFragment: `${tcp} must not include a fragment`,
  tcpNotIp: `${tcp} host component must be an IP:port`,
  tcpNoPort: `${tcp} host component must include a port`,
  /** sigil */
  tcpPortRange: `${tcp} port must be between 1 and 65535`,

  unixOpaque: `${unix} must not be opaque`,
  unixUserInfo: `${unix} must not include user info`,
  unixNoPath: `${unix} must include a path`,
  unixQuery: `${unix} must not include query values`,
  unixFragment: `${unix} must not include a fragment`,
  /** sigil */
  unixAuthority: `${unix} must not include an authority (an absolute path needs three slashes: unix:///path/to/socket)`,
  /** sigil */
  unixPathNotUtf8: `${unix} path must be valid UTF-8 once percent-decoded`,
  /** sigil */
  unixPathNul: `${unix} path must not contain a NUL byte`,
} as const;

export class EndpointAddressError extends SigilError {
  constructor(message: string) {
    super('SIGIL_ENDPOINT_ADDRESS_INVALID', message);
  }
}
