/** Server config: defaults, the YAML file, flags over the file, durations. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  formatDuration, loadConfig, parseDuration, resolveConfig, type ServerConfig,
} from '../../../server/config/index.js';
import { REPO_ROOT } from '../../support/shared.js';

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures', 'server');

/** Plain data for deepEqual: the TrustDomain object becomes its name. */
function plain(c: ServerConfig): Record<string, unknown> {
  return { ...c, trustDomain: c.trustDomain.name };
}

describe('server config: defaults', () => {
  it('fills every key but the trust domain, paths under the data directory', () => {
    const c = resolveConfig({ flags: { trustDomain: 'example.org' }, cwd: '/srv' });
    assert.deepEqual(plain(c), {
      trustDomain: 'example.org',
      bind: { host: '0.0.0.0', port: 8081 },
      adminSocket: '/tmp/sigil-server/private/admin.sock',
      dataDir: '/srv/.sigil/server',
      datastore: 'sqlite:/srv/.sigil/server/datastore.sqlite3',
      logLevel: 'info',
      ca: {
        keyType: 'ec-p256',
        ttlSeconds: 86_400,
        subject: undefined,
        keyManager: { type: 'disk', keysPath: '/srv/.sigil/server/keys.json' },
        upstream: undefined,
      },
      svid: { x509TtlSeconds: 3600, jwtTtlSeconds: 300, agentTtlSeconds: 3600 },
      jwt: { keyType: 'ec-p256' },
      serverDnsNames: [],
      nodeAttestors: { tpm: undefined },
    });
  });

  it('derives the datastore and keys file from a data directory set elsewhere', () => {
    const c = resolveConfig({ file: { trustDomain: 'example.org', dataDir: 'state' }, cwd: '/srv' });
    assert.equal(c.dataDir, '/srv/state');
    assert.equal(c.datastore, 'sqlite:/srv/state/datastore.sqlite3');
    assert.deepEqual(c.ca.keyManager, { type: 'disk', keysPath: '/srv/state/keys.json' });
  });

  it('defaults the agent SVID TTL to the X.509-SVID TTL and the JWT key type to the CA key type (SPIRE)', () => {
    const c = resolveConfig({ file: { trustDomain: 'example.org', svid: { x509Ttl: '2h' }, ca: { keyType: 'rsa-2048' } } });
    assert.equal(c.svid.agentTtlSeconds, 7200);
    assert.equal(c.jwt.keyType, 'rsa-2048');
  });

  it('selects the memory key manager, with no keys file', () => {
    const c = resolveConfig({ file: { trustDomain: 'example.org', ca: { keyManager: { type: 'memory' } } } });
    assert.deepEqual(c.ca.keyManager, { type: 'memory' });
  });

  it('selects the pkcs11 key manager, its PIN file absolute, its keyType the CA key type (and so the JWT key type)', () => {
    const c = resolveConfig({
      cwd: '/srv',
      file: {
        trustDomain: 'example.org',
        ca: {
          keyManager: {
            type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'sigil-ca', pinFile: 'secrets/hsm-pin',
            keyLabelPrefix: 'prod', keyType: 'ec-p384', sessions: '8',
          },
        },
      },
    });
    assert.deepEqual(c.ca.keyManager, {
      type: 'pkcs11', module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'sigil-ca', pinFile: '/srv/secrets/hsm-pin',
      keyLabelPrefix: 'prod', sessions: 8,
    });
    assert.equal(c.ca.keyType, 'ec-p384');
    assert.equal(c.jwt.keyType, 'ec-p384');
  });

  it('accepts the same key type in ca.keyType and ca.keyManager.keyType, and a slot with a PIN variable', () => {
    const c = resolveConfig({
      file: {
        trustDomain: 'example.org',
        ca: { keyType: 'rsa-2048', keyManager: { type: 'pkcs11', module: 'libsofthsm2.so', slot: 0, pinEnv: 'HSM_PIN', keyType: 'rsa-2048' } },
      },
    });
    assert.deepEqual(c.ca.keyManager, { type: 'pkcs11', module: 'libsofthsm2.so', slot: 0, pinEnv: 'HSM_PIN' });
    assert.equal(c.ca.keyType, 'rsa-2048');
  });

  it('reads an empty section (a YAML block with everything commented out) as absent', () => {
    const c = resolveConfig({ file: { trustDomain: 'example.org', ca: null, svid: null, jwt: null } });
    assert.equal(c.ca.keyType, 'ec-p256');
  });
});

describe('server config: the YAML file', () => {
  it('reads every key from a full file', async () => {
    const c = await loadConfig({ configFile: join(FIXTURES, 'full.yaml') });
    assert.deepEqual(plain(c), {
      trustDomain: 'example.org',
      bind: { host: '127.0.0.1', port: 9081 },
      adminSocket: '/run/sigil/admin.sock',
      dataDir: '/var/lib/sigil/server',
      datastore: 'postgres://sigil@db.example.org:5432/sigil?schema=sigil',
      logLevel: 'debug',
      ca: {
        keyType: 'ec-p384',
        ttlSeconds: 48 * 3600,
        subject: { country: 'DE', organization: 'Example', commonName: 'Example CA' },
        keyManager: { type: 'disk', keysPath: '/var/lib/sigil/keys/server-keys.json' },
        upstream: {
          certFile: '/etc/sigil/upstream.crt',
          keyFile: '/etc/sigil/upstream.key',
          bundleFile: '/etc/sigil/upstream-bundle.pem',
        },
      },
      svid: { x509TtlSeconds: 7200, jwtTtlSeconds: 600, agentTtlSeconds: 5400 },
      jwt: { keyType: 'ec-p256' },
      serverDnsNames: ['sigil-server.example.org', 'sigil-server'],
      nodeAttestors: { tpm: undefined },
    });
  });

  it('resolves relative paths in the file against the working directory', () => {
    const c = resolveConfig({
      file: {
        trustDomain: 'example.org', adminSocket: 'run/admin.sock',
        ca: { keyManager: { type: 'disk', keysPath: 'k.json' }, upstream: { certFile: 'a.crt', keyFile: 'a.key', bundleFile: 'b.pem' } },
      },
      cwd: '/srv',
    });
    assert.equal(c.adminSocket, '/srv/run/admin.sock');
    assert.deepEqual(c.ca.keyManager, { type: 'disk', keysPath: '/srv/k.json' });
    assert.deepEqual(c.ca.upstream, { certFile: '/srv/a.crt', keyFile: '/srv/a.key', bundleFile: '/srv/b.pem' });
  });

  it('accepts an IPv6 bind address in brackets, port 0 and log levels in capitals', () => {
    const c = resolveConfig({ file: { trustDomain: 'example.org', bind: '[::1]:0', logLevel: 'WARN' } });
    assert.deepEqual(c.bind, { host: '::1', port: 0 });
    assert.equal(c.logLevel, 'warn');
  });

  it('takes a trust domain given as a SPIFFE ID, as go-spiffe does', () => {
    assert.equal(resolveConfig({ file: { trustDomain: 'spiffe://example.org' } }).trustDomain.name, 'example.org');
  });
});

describe('server config: flags over the file over defaults', () => {
  const file = {
    trustDomain: 'file.example', bind: '10.0.0.1:9000', adminSocket: '/file/admin.sock', dataDir: '/file/data',
    datastore: 'sqlite:/file/ds.db', logLevel: 'debug',
  };

  it('a flag replaces the file value, key by key', () => {
    const c = resolveConfig({ file, flags: { bind: '127.0.0.1:7000', logLevel: 'error' } });
    assert.deepEqual(c.bind, { host: '127.0.0.1', port: 7000 });
    assert.equal(c.logLevel, 'error');
    assert.equal(c.trustDomain.name, 'file.example');
    assert.equal(c.adminSocket, '/file/admin.sock');
  });

  it('every flag wins over the file', () => {
    const c = resolveConfig({
      file,
      flags: {
        trustDomain: 'flag.example', bind: '127.0.0.1:1', adminSocket: '/flag/admin.sock', dataDir: '/flag/data',
        datastore: 'postgres://u@h/db', logLevel: 'warn',
      },
    });
    assert.deepEqual(
      [c.trustDomain.name, c.bind.port, c.adminSocket, c.dataDir, c.datastore, c.logLevel],
      ['flag.example', 1, '/flag/admin.sock', '/flag/data', 'postgres://u@h/db', 'warn'],
    );
  });

  it('a flag given explicitly wins even when it equals the default', () => {
    const c = resolveConfig({ file, flags: { bind: '0.0.0.0:8081', logLevel: 'info' } });
    assert.deepEqual(c.bind, { host: '0.0.0.0', port: 8081 });
    assert.equal(c.logLevel, 'info');
  });

  it('flags left undefined leave the file alone', () => {
    const c = resolveConfig({ file, flags: { bind: undefined, trustDomain: undefined } });
    assert.equal(c.bind.port, 9000);
    assert.equal(c.trustDomain.name, 'file.example');
  });

  it('--data-dir moves the derived datastore and keys file, but not a datastore the file set', () => {
    const derived = resolveConfig({ file: { trustDomain: 'example.org', dataDir: '/file' }, flags: { dataDir: '/flag' } });
    assert.equal(derived.datastore, 'sqlite:/flag/datastore.sqlite3');
    assert.deepEqual(derived.ca.keyManager, { type: 'disk', keysPath: '/flag/keys.json' });
    const explicit = resolveConfig({ file, flags: { dataDir: '/flag' } });
    assert.equal(explicit.datastore, 'sqlite:/file/ds.db');
  });

  it('loadConfig merges flags over a file it reads', async () => {
    const c = await loadConfig({ configFile: join(FIXTURES, 'full.yaml'), flags: { bind: '127.0.0.1:0' } });
    assert.deepEqual(c.bind, { host: '127.0.0.1', port: 0 });
    assert.equal(c.ca.keyType, 'ec-p384');
  });
});

describe('server config: durations', () => {
  const cases: [unknown, number][] = [
    ['90s', 90], ['5m', 300], ['1h', 3600], ['24h', 86_400], ['7d', 604_800], ['1h30m', 5400],
    ['3600', 3600], [3600, 3600], [' 10m ', 600],
  ];
  for (const [input, seconds] of cases) {
    it(`${JSON.stringify(input)} is ${seconds} s`, () => assert.equal(parseDuration(input), seconds));
  }

  const refused: [unknown, string][] = [
    ['5x', '"5x" is not a duration: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
    ['1.5h', '"1.5h" is not a duration: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
    ['-5m', '"-5m" is not a duration: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
    [1.5, '1.5 is not a whole number of seconds: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
    [0, '0 must be at least 1 second'],
    ['0s', '"0s" must be at least 1 second'],
    [true, 'true is not a duration: use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds'],
  ];
  for (const [input, problem] of refused) {
    it(`refuses ${JSON.stringify(input)}`, () => assert.deepEqual(parseDuration(input), { problem }));
  }

  it('sets every TTL key from a duration', () => {
    const c = resolveConfig({
      file: { trustDomain: 'example.org', ca: { ttl: '2d' }, svid: { x509Ttl: 1800, jwtTtl: '90s', agentTtl: '45m' } },
    });
    assert.deepEqual([c.ca.ttlSeconds, c.svid.x509TtlSeconds, c.svid.jwtTtlSeconds, c.svid.agentTtlSeconds], [172_800, 1800, 90, 2700]);
  });

  it('formats seconds back for help and docs', () => {
    assert.deepEqual([86_400, 300, 5400, 90, 0].map(formatDuration), ['24h', '5m', '1h30m', '1m30s', '0s']);
  });
});
