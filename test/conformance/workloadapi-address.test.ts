/**
 * go-spiffe's Workload API address vectors (shared/conformance/workloadapi_addr_cases.json), one
 * test each, named by the input. Where sigil deliberately differs, and for go-spiffe's Windows-only
 * npipe vectors (sigil is a POSIX build), the title says so and why; every other vector must give
 * go-spiffe's outcome and contain its error text.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  AddressRule,
  DEFAULT_AGENT_SOCKET_ADDRESS,
  DEFAULT_AGENT_SOCKET_PATH,
  endpointAddressFromEnv,
  EndpointAddressError,
  parseEndpointAddress,
  SPIFFE_ENDPOINT_SOCKET_ENV,
  WORKLOAD_API_HEADER,
  WORKLOAD_API_HEADER_VALUE,
  WORKLOAD_API_SERVICE,
} from '../../spiffe/workloadapi/index.js';
import { readSharedJson } from '../support/shared.js';

interface Case {
  input: string;
  valid: boolean;
  error_contains: string | null;
  expected_target?: string;
  origin: string;
}

interface Expectation {
  valid: boolean;
  contains?: string;
  target?: string;
  /** Why the outcome is not the file's, shown in the test title. */
  why?: string;
}

const SIGIL_DIFFERS: Record<string, Expectation> = {
  'unix://foo': {
    valid: false,
    contains: AddressRule.unixAuthority,
    why: 'sigil differs: the spec forbids an authority and no gRPC client can dial one; go-spiffe accepts it',
  },
  'unix://foo/bar': {
    valid: false,
    contains: AddressRule.unixAuthority,
    why: 'sigil differs: the spec forbids an authority and no gRPC client can dial one; go-spiffe accepts it',
  },
  'tcp://127.0.0.1:99999': {
    valid: false,
    contains: AddressRule.tcpPortRange,
    why: 'sigil differs: a port above 65535 cannot be dialled; go-spiffe does not range-check',
  },
};

/** Targets the file leaves out, in sigil's normal form (`unix://` + the decoded absolute path). */
const SIGIL_TARGETS: Record<string, string> = {
  'unix:/tmp/agent.sock': 'unix:///tmp/agent.sock',
  'UNIX:///tmp/agent.sock': 'unix:///tmp/agent.sock',
};

function expectationOf(c: Case): Expectation {
  const differs = SIGIL_DIFFERS[c.input];
  if (differs) return differs;
  if (c.origin.includes('Windows builds only')) {
    return {
      valid: false,
      contains: AddressRule.badScheme,
      why: 'Linux: npipe exists only in go-spiffe Windows builds, whose vector this is; sigil is a POSIX build',
    };
  }
  if (c.valid) return { valid: true, target: c.expected_target ?? SIGIL_TARGETS[c.input] };
  return { valid: false, contains: c.error_contains ?? '' };
}

function title(c: Case, e: Expectation): string {
  const outcome = e.valid ? `valid${e.target ? `, target ${e.target}` : ''}` : `rejected: ${e.contains ?? ''}`;
  return `${JSON.stringify(c.input)} is ${outcome}${e.why ? ` (${e.why})` : ''}`;
}

function expectRejected(value: string, contains: string): EndpointAddressError {
  let caught: unknown;
  assert.throws(() => parseEndpointAddress(value), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof EndpointAddressError, `expected EndpointAddressError, got ${String(caught)}`);
  assert.ok(caught.message.includes(contains), `${JSON.stringify(caught.message)} lacks ${JSON.stringify(contains)}`);
  assert.equal(caught.code, 'SIGIL_ENDPOINT_ADDRESS_INVALID');
  return caught;
}

const file = readSharedJson<{ cases: Case[] }>('conformance', 'workloadapi_addr_cases.json');

describe(`conformance: Workload API endpoint addresses (${file.cases.length} go-spiffe v2.8.1 vectors)`, () => {
  let ran = 0;
  for (const c of file.cases) {
    const e = expectationOf(c);
    it(title(c, e), () => {
      ran++;
      if (!e.valid) {
        expectRejected(c.input, e.contains ?? '');
        return;
      }
      const addr = parseEndpointAddress(c.input);
      assert.equal(addr.kind, c.input.slice(0, 4).toLowerCase() === 'unix' ? 'unix' : 'tcp');
      if (e.target !== undefined) assert.equal(addr.target, e.target);
    });
  }
  it(`ran all ${file.cases.length} vectors`, () => assert.equal(ran, file.cases.length));
});

describe('workload endpoint addresses: Go net/url details', () => {
  const notUri = (rest: string): string => `${AddressRule.notUri}: ${rest}`;
  const exact: [string, string][] = [
    ['\t', notUri('parse "\\t": net/url: invalid control character in URL')],
    ['tcp://127.0.0.1:abc', notUri('parse "tcp://127.0.0.1:abc": invalid port ":abc" after host')],
    ['unix:///%zz', notUri('parse "unix:///%zz": invalid URL escape "%zz"')],
    // The fragment is split off first, so its errors quote the whole input.
    ['tcp://1.2.3.4:5#%4', notUri('parse "tcp://1.2.3.4:5#%4": invalid URL escape "%4"')],
    ['tcp://a b:1', notUri('parse "tcp://a b:1": invalid character " " in host name')],
    ['tcp://[1.2.3.4]:5', notUri('parse "tcp://[1.2.3.4]:5": invalid IP-literal')],
    ['tcp://[::1', notUri('parse "tcp://[::1": missing \']\' in host')],
    ['tcp://ü@1.2.3.4:5', notUri('parse "tcp://ü@1.2.3.4:5": net/url: invalid userinfo')],
    ['://x', notUri('parse "://x": missing protocol scheme')],
    ['1tcp://x', notUri('parse "1tcp://x": first path segment in URL cannot contain colon')],
    ['tcp://@1.2.3.4:5', AddressRule.tcpUserInfo],
    ['tcp:', AddressRule.tcpNoHost],
    ['unix:', AddressRule.unixNoPath],
    ['', AddressRule.badScheme],
    ['tcp://1.2.3.4:5#\t', AddressRule.tcpFragment],
    ['tcp://::1:8000', AddressRule.tcpNotIp],
    ['tcp://[fe80::1%25eth0]:80', AddressRule.tcpNotIp],
    ['tcp://01.2.3.4:5', AddressRule.tcpNotIp],
    ['tcp://1.2.3.4:0', AddressRule.tcpPortRange],
    ['unix://tmp/agent.sock', AddressRule.unixAuthority],
    ['unix:///tmp/%00x', AddressRule.unixPathNul],
    ['unix:///tmp/%FF', AddressRule.unixPathNotUtf8],
  ];
  for (const [input, message] of exact) {
    it(`${JSON.stringify(input)} gives exactly ${JSON.stringify(message)}`, () => {
      assert.equal(expectRejected(input, message).message, message);
    });
  }

  const valid: [string, string][] = [
    ['tcp://1.2.3.4:5?', '1.2.3.4:5'], // a lone '?' is an empty query to Go
    ['tcp://1.2.3.4:5#', '1.2.3.4:5'],
    ['tcp://1.2.3.4:0080', '1.2.3.4:80'],
    ['tcp://[::ffff:1.2.3.4]:1', '[::ffff:1.2.3.4]:1'],
    ['tcp://[1:2:3:4:5:6:7::]:65535', '[1:2:3:4:5:6:7::]:65535'],
    ['unix:///tmp/a%20b.sock', 'unix:///tmp/a b.sock'],
  ];
  for (const [input, target] of valid) {
    it(`${JSON.stringify(input)} is valid, target ${target}`, () => {
      assert.equal(parseEndpointAddress(input).target, target);
    });
  }

  it('either accepts a string or throws an EndpointAddressError, never anything else', () => {
    const uriChar = fc.constantFrom(...'tcpunix:/[]@%?#.0123456789abcdefABCDEF \t\u00e9\u0000'.split(''));
    const tails = fc.string({ unit: uriChar, maxLength: 30 });
    const inputs = fc.oneof(
      fc.string({ maxLength: 40 }),
      tails.map((t) => `tcp://${t}`),
      tails.map((t) => `unix:${t}`),
      tails.map((t) => `tcp://[${t}]:1`),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        try {
          const a = parseEndpointAddress(input);
          if (a.kind === 'tcp') {
            assert.deepEqual(parseEndpointAddress(`tcp://${a.target}`), a);
          } else {
            // The target is for grpc-js, which does not percent-decode, so it is not re-parsed.
            assert.ok(a.path.startsWith('/'));
            assert.equal(a.target, `unix://${a.path}`);
          }
        } catch (err) {
          if (!(err instanceof EndpointAddressError)) throw err;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('gives the parts of each kind', () => {
    assert.deepEqual(parseEndpointAddress('unix:///run/sigil/api.sock'), {
      kind: 'unix',
      path: '/run/sigil/api.sock',
      target: 'unix:///run/sigil/api.sock',
    });
    assert.deepEqual(parseEndpointAddress('tcp://[::1]:8000'), { kind: 'tcp', host: '::1', port: 8000, target: '[::1]:8000' });
  });
});

describe('endpointAddressFromEnv', () => {
  const env = { [SPIFFE_ENDPOINT_SOCKET_ENV]: 'unix:///from/env.sock' };

  it('prefers the explicit address', () => {
    assert.equal(endpointAddressFromEnv(env, 'tcp://127.0.0.1:1').target, '127.0.0.1:1');
  });
  it('falls back to SPIFFE_ENDPOINT_SOCKET, also when the explicit address is empty', () => {
    assert.equal(endpointAddressFromEnv(env).target, 'unix:///from/env.sock');
    assert.equal(endpointAddressFromEnv(env, '').target, 'unix:///from/env.sock');
  });
  it('reports an unset or empty variable as not configured', () => {
    for (const e of [{}, { [SPIFFE_ENDPOINT_SOCKET_ENV]: '' }, { [SPIFFE_ENDPOINT_SOCKET_ENV]: undefined }]) {
      assert.throws(() => endpointAddressFromEnv(e), (err: unknown) => {
        assert.ok(err instanceof EndpointAddressError);
        assert.equal(err.message, AddressRule.notConfigured);
        return true;
      });
    }
  });
  it('validates what it finds', () => {
    assert.throws(() => endpointAddressFromEnv({ [SPIFFE_ENDPOINT_SOCKET_ENV]: 'unix://foo' }), EndpointAddressError);
  });
});

describe('Workload API constants', () => {
  it('have the values of the spec and of SPIRE by analogy', () => {
    assert.equal(WORKLOAD_API_HEADER, 'workload.spiffe.io');
    assert.equal(WORKLOAD_API_HEADER_VALUE, 'true');
    assert.equal(WORKLOAD_API_SERVICE, 'SpiffeWorkloadAPI');
    assert.equal(SPIFFE_ENDPOINT_SOCKET_ENV, 'SPIFFE_ENDPOINT_SOCKET');
    assert.equal(DEFAULT_AGENT_SOCKET_PATH, '/tmp/sigil-agent/public/api.sock');
    assert.equal(parseEndpointAddress(DEFAULT_AGENT_SOCKET_ADDRESS).target, DEFAULT_AGENT_SOCKET_ADDRESS);
  });
});
