/**
 * Server config refusals: each problem is one line naming the full key path (or the flag) and,
 * for a bad value, what is accepted; every problem in a load is reported, not just the first.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ConfigError, ConfigErrorCode, loadConfig, parseYamlConfig, resolveConfig, type ConfigSources,
} from '../../../server/config/index.js';
import { Rule } from '../../../spiffe/spiffeid/errors.js';
import { REPO_ROOT } from '../../support/shared.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'server');
const TD = { trustDomain: 'example.org' };

function problems(sources: ConfigSources): readonly string[] {
  try {
    resolveConfig(sources);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.equal(err.code, ConfigErrorCode.invalid);
    assert.equal(err.message, err.problems.join('\n'));
    return err.problems;
  }
  assert.fail('the config was accepted');
}

async function loadProblems(fixture: string): Promise<{ code: string; problems: readonly string[] }> {
  const err = await loadConfig({ configFile: join(FIXTURES, fixture) }).then(
    () => assert.fail('the config was accepted'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
  return { code: err.code, problems: err.problems };
}

describe('server config: unknown keys', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['at the top', { ...TD, bnd: '0.0.0.0:1' }, 'config: bnd: unknown key (did you mean bind?)'],
    ['in ca', { ...TD, ca: { keyTyp: 'ec-p256' } }, 'config: ca.keyTyp: unknown key (did you mean keyType?)'],
    ['in ca.subject', { ...TD, ca: { subject: { comonName: 'x' } } }, 'config: ca.subject.comonName: unknown key (did you mean commonName?)'],
    ['in ca.keyManager', { ...TD, ca: { keyManager: { type: 'disk', keyPath: 'k' } } }, 'config: ca.keyManager.keyPath: unknown key (did you mean keysPath?)'],
    ['in ca.upstream', { ...TD, ca: { upstream: { certFile: 'a', keyFile: 'b', bundleFile: 'c', bundelFile: 'd' } } }, 'config: ca.upstream.bundelFile: unknown key (did you mean bundleFile?)'],
    ['in svid', { ...TD, svid: { x509TTL: '1h' } }, 'config: svid.x509TTL: unknown key (did you mean x509Ttl?)'],
    ['in jwt', { ...TD, jwt: { issuer: 'x' } }, 'config: jwt.issuer: unknown key'],
    ['with nothing close to suggest', { ...TD, federation: {} }, 'config: federation: unknown key'],
  ];
  for (const [where, file, expected] of cases) {
    it(`names one ${where}`, () => assert.deepEqual(problems({ file }), [expected]));
  }

  it('suggests the camelCase key for SPIRE\'s snake_case spelling', async () => {
    const r = await loadProblems('spire-style-keys.yaml');
    assert.equal(r.code, ConfigErrorCode.invalid);
    assert.deepEqual(r.problems, [
      'config: trust_domain: unknown key (did you mean trustDomain?)',
      'config: bind_address: unknown key',
      'config: data_dir: unknown key (did you mean dataDir?)',
      'config: log_level: unknown key (did you mean logLevel?)',
    ]);
  });

  it('names a key two levels down in a file', async () => {
    assert.deepEqual((await loadProblems('unknown-nested-key.yaml')).problems, [
      'config: ca.keyManager.keyPath: unknown key (did you mean keysPath?)',
    ]);
  });
});

describe('server config: invalid values', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['a CA key type', { ca: { keyType: 'ec-p521' } }, 'config: ca.keyType: "ec-p521" is not one of ec-p256, ec-p384, rsa-2048'],
    ['a JWT key type', { jwt: { keyType: 'ed25519' } }, 'config: jwt.keyType: "ed25519" is not one of ec-p256, ec-p384, rsa-2048'],
    ['a key manager type', { ca: { keyManager: { type: 'pkcs12' } } }, 'config: ca.keyManager.type: "pkcs12" is not one of disk, memory, pkcs11'],
    ['a pkcs11 key manager without module, token or PIN', { ca: { keyManager: { type: 'pkcs11' } } }, [
      'config: ca.keyManager.module: is required for type pkcs11: the PKCS#11 library path',
      'config: ca.keyManager.tokenLabel: set exactly one of tokenLabel and slot for type pkcs11',
      'config: ca.keyManager.pinFile: set exactly one of pinFile and pinEnv for type pkcs11 (the PIN itself never goes in the config)',
    ].join('\n')],
    ['both a token label and a slot, both a PIN file and a PIN variable', {
      ca: { keyManager: { type: 'pkcs11', module: 'm.so', tokenLabel: 'ca', slot: 0, pinFile: 'p', pinEnv: 'PIN' } },
    }, [
      'config: ca.keyManager.tokenLabel: set exactly one of tokenLabel and slot for type pkcs11',
      'config: ca.keyManager.pinFile: set exactly one of pinFile and pinEnv for type pkcs11 (the PIN itself never goes in the config)',
    ].join('\n')],
    ['pkcs11 keys under another key manager', { ca: { keyManager: { type: 'disk', tokenLabel: 'ca', pinEnv: 'PIN' } } }, [
      'config: ca.keyManager.tokenLabel: only applies to type pkcs11, not disk',
      'config: ca.keyManager.pinEnv: only applies to type pkcs11, not disk',
    ].join('\n')],
    ['a PIN variable that is no variable name', {
      ca: { keyManager: { type: 'pkcs11', module: 'm.so', slot: 0, pinEnv: 'HSM PIN' } },
    }, 'config: ca.keyManager.pinEnv: "HSM PIN" is not an environment variable name (letters, digits and _, not starting with a digit)'],
    ['a session count', { ca: { keyManager: { type: 'pkcs11', module: 'm.so', slot: 0, pinEnv: 'PIN', sessions: 0 } } },
      'config: ca.keyManager.sessions: 0 is not a whole number from 1 to 64'],
    ['a key label prefix', { ca: { keyManager: { type: 'pkcs11', module: 'm.so', slot: 0, pinEnv: 'PIN', keyLabelPrefix: 'a b' } } },
      'config: ca.keyManager.keyLabelPrefix: "a b" is not a key label prefix: use 1 to 32 characters of [A-Za-z0-9._-], starting with a letter or digit'],
    ['two different CA key types', { ca: { keyType: 'ec-p256', keyManager: { type: 'memory', keyType: 'ec-p384' } } },
      "config: ca.keyManager.keyType: is ec-p384 but ca.keyType is ec-p256: both name the CA key's type, so set one of them"],
    ['a keys file for the memory key manager', { ca: { keyManager: { type: 'memory', keysPath: 'k.json' } } }, 'config: ca.keyManager.keysPath: only applies to type disk, not memory'],
    ['a key manager without a type', { ca: { keyManager: { keysPath: 'k.json' } } }, 'config: ca.keyManager.type: is required'],
    ['a log level', { logLevel: 'verbose' }, 'config: logLevel: "verbose" is not one of trace, debug, info, warn, error, fatal, silent'],
    ['a bind address without a port', { bind: '0.0.0.0' }, 'config: bind: "0.0.0.0" is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)'],
    ['a port out of range', { bind: '0.0.0.0:65536' }, 'config: bind: "0.0.0.0:65536" is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)'],
    ['a number where a string belongs', { bind: 8081 }, 'config: bind: must be a string, not number 8081'],
    ['a mapping where a string belongs', { dataDir: { path: '/x' } }, 'config: dataDir: must be a string, not a mapping'],
    ['a string where a mapping belongs', { ca: 'ec-p256' }, 'config: ca: must be a mapping of keys to values, not string "ec-p256"'],
    ['a string where a list belongs', { serverDnsNames: 'a.example' }, 'config: serverDnsNames: must be a list, not string "a.example"'],
    ['a bad DNS name, by index', { serverDnsNames: ['ok.example', 'not ok'] }, 'config: serverDnsNames[1]: "not ok" is not a DNS name'],
    ['an empty path', { adminSocket: ' ' }, 'config: adminSocket: must not be empty'],
    ['a key with no value', { dataDir: null }, 'config: dataDir: must be a string, not no value'],
    ['a datastore URL scheme, without the rest of the URL', { datastore: 'mysql://root:hunter2@db/sigil' }, 'config: datastore: the URL has the unsupported scheme "mysql:": use sqlite:PATH, postgres://… or postgresql://…'],
    ['a datastore path without a scheme', { datastore: '/var/lib/sigil.db' }, 'config: datastore: the URL has no scheme: use sqlite:PATH, postgres://… or postgresql://…'],
    ['a duration', { svid: { jwtTtl: '5 minutes' } }, 'config: svid.jwtTtl: "5 minutes" is not a duration: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
    ['a zero CA TTL', { ca: { ttl: 0 } }, 'config: ca.ttl: 0 must be at least 1 second'],
    ['a subject country', { ca: { subject: { country: 'Germany' } } }, 'config: ca.subject.country: "Germany" is not a two-letter ISO 3166 country code in capitals (e.g. US)'],
    ['a long common name', { ca: { subject: { commonName: 'x'.repeat(65) } } }, 'config: ca.subject.commonName: must be 1 to 64 characters'],
    ['an incomplete upstream', { ca: { upstream: { certFile: 'a.crt' } } }, 'config: ca.upstream.keyFile: is required\nconfig: ca.upstream.bundleFile: is required'],
  ];
  for (const [what, file, expected] of cases) {
    it(`names ${what}`, () => assert.deepEqual(problems({ file: { ...TD, ...file } }).join('\n'), expected));
  }

  it('names the key and the accepted values from a file', async () => {
    assert.deepEqual((await loadProblems('invalid-key-type.yaml')).problems, [
      'config: ca.keyType: "ec-p521" is not one of ec-p256, ec-p384, rsa-2048',
    ]);
  });

  it('names the flag that gave a bad value', () => {
    assert.deepEqual(problems({ flags: { trustDomain: 'example.org', bind: 'localhost', logLevel: 'loud' } }), [
      'config: --bind: "localhost" is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)',
      'config: --log-level: "loud" is not one of trace, debug, info, warn, error, fatal, silent',
    ]);
  });

  it('reports every problem of the file and the flags at once, unknown keys first', () => {
    assert.deepEqual(problems({ file: { ...TD, logLevel: 'x', ca: { keyTyp: 'ec-p256' } }, flags: { bind: 'y' } }), [
      'config: ca.keyTyp: unknown key (did you mean keyType?)',
      'config: logLevel: "x" is not one of trace, debug, info, warn, error, fatal, silent',
      'config: --bind: "y" is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)',
    ]);
  });

  it('refuses a file that is not a mapping', () => {
    assert.deepEqual(problems({ file: ['trustDomain: example.org'] }), ['config: the file: must be a mapping of keys to values, not a list']);
  });

  it('refuses an admin socket path longer than a Unix socket allows, naming where it came from', () => {
    const long = `/tmp/${'d'.repeat(120)}/admin.sock`;
    assert.deepEqual(problems({ file: { ...TD, adminSocket: long } }), [
      `config: adminSocket: ${long} is ${long.length} bytes; a Unix socket path is at most 107`,
    ]);
    assert.deepEqual(problems({ file: TD, flags: { adminSocket: long } }), [
      `config: --admin-socket: ${long} is ${long.length} bytes; a Unix socket path is at most 107`,
    ]);
  });
});

describe('server config: the trust domain', () => {
  it('is required', () => {
    assert.deepEqual(problems({}), ['config: trustDomain: is required: set it in the config file or with --trust-domain']);
  });

  it('is checked by spiffe/, whose words the error repeats', () => {
    assert.deepEqual(problems({ file: { trustDomain: 'Example.org' } }), [`config: trustDomain: "Example.org": ${Rule.badTrustDomainChar}`]);
    assert.deepEqual(problems({ flags: { trustDomain: 'spiffe://' } }), [`config: --trust-domain: "spiffe://": ${Rule.missingTrustDomain}`]);
    assert.deepEqual(problems({ file: { trustDomain: '' } }), [`config: trustDomain: "": ${Rule.missingTrustDomain}`]);
  });

  it('from a flag replaces a bad one in the file only if the file is valid: a bad file is still refused', () => {
    assert.deepEqual(problems({ file: { trustDomain: 'A' }, flags: { trustDomain: 'example.org' } }), [
      `config: trustDomain: "A": ${Rule.badTrustDomainChar}`,
    ]);
  });
});

describe('server config: files that cannot be read', () => {
  it('names a missing file', async () => {
    const r = await loadProblems('no-such-file.yaml');
    assert.equal(r.code, ConfigErrorCode.unreadable);
    assert.match(r.problems[0]!, /^config: cannot read .*no-such-file\.yaml: ENOENT/);
  });

  it('names the file and the position of a YAML syntax error', async () => {
    const r = await loadProblems('not-yaml.yaml');
    assert.equal(r.code, ConfigErrorCode.unreadable);
    assert.match(r.problems[0]!, /^config: .*not-yaml\.yaml: .* at line \d+, column \d+$/);
  });

  it('refuses a key given twice', () => {
    assert.throws(() => parseYamlConfig('bind: a\nbind: b\n', 's.yaml'), {
      message: 'config: s.yaml: Map keys must be unique at line 2, column 1',
    });
  });

  it('refuses more than one YAML document', () => {
    assert.throws(() => parseYamlConfig('trustDomain: a.org\n---\ntrustDomain: b.org\n', 's.yaml'), {
      message: 'config: s.yaml: holds 2 YAML documents; use one',
    });
  });

  it('reads an empty file as no settings', () => {
    assert.equal(parseYamlConfig('', 'empty.yaml'), null);
    assert.equal(parseYamlConfig('# only a comment\n', 'empty.yaml'), null);
  });
});

describe('server config: nodeAttestors.tpm', () => {
  const base = { trustDomain: 'example.org' };
  const hash = 'AB'.repeat(32);

  it('reads ekCaBundles (absolute), ekHashAllowList (lower case) and pcrPolicy', () => {
    const c = resolveConfig({
      cwd: '/etc/sigil',
      file: { ...base, nodeAttestors: { tpm: { ekCaBundles: ['ca/ek.pem'], ekHashAllowList: [hash], pcrPolicy: { sha256: { '7': 'CD'.repeat(32) } } } } },
    });
    assert.deepEqual(c.nodeAttestors.tpm, {
      ekCaBundles: ['/etc/sigil/ca/ek.pem'],
      ekHashAllowList: ['ab'.repeat(32)],
      pcrPolicy: { sha256: { 7: 'cd'.repeat(32) } },
    });
  });

  it('--tpm-ek-ca (repeatable) replaces ekCaBundles and turns the attestor on by itself', () => {
    const c = resolveConfig({ cwd: '/x', file: { ...base, nodeAttestors: { tpm: { ekCaBundles: ['file.pem'] } } }, flags: { tpmEkCa: ['a.pem', '/b.pem'] } });
    assert.deepEqual(c.nodeAttestors.tpm?.ekCaBundles, ['/x/a.pem', '/b.pem']);
    assert.deepEqual(resolveConfig({ cwd: '/x', file: base, flags: { tpmEkCa: ['a.pem'] } }).nodeAttestors.tpm, {
      ekCaBundles: ['/x/a.pem'], ekHashAllowList: [], pcrPolicy: {},
    });
    assert.equal(resolveConfig({ file: base }).nodeAttestors.tpm, undefined);
  });

  it('refuses a tpm section that could never attest, and malformed values, naming the key', () => {
    assert.deepEqual(problems({ file: { ...base, nodeAttestors: { tpm: { pcrPolicy: { sha256: { '7': '00'.repeat(32) } } } } } }), [
      'config: nodeAttestors.tpm: needs ekCaBundles (or --tpm-ek-ca) or ekHashAllowList: with neither, no TPM could ever attest',
    ]);
    assert.deepEqual(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: [hash], pcrPolicy: { sha256: { '7': '00'.repeat(20) } } } } } }), [
      'config: nodeAttestors.tpm.pcrPolicy.sha256.7: a sha256 PCR value has 64 hex digits, not 40',
    ]);
    assert.match(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: ['xyz'] } } } })[0]!, /^config: nodeAttestors\.tpm\.ekHashAllowList\[0\]: must be a SHA-256 hex digest/);
    assert.match(problems({ file: { ...base, nodeAttestors: { tpm: { ekHashAllowList: [hash], pcrPolicy: { sha256: { '24': '00'.repeat(32) } } } } } })[0]!, /PCR indices are 0 to 23/);
    assert.match(problems({ file: { ...base, nodeAttestors: { tmp: {} } } })[0]!, /nodeAttestors.*tmp/);
  });
});
