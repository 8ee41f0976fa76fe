/** ServerCa's options: defaults, refusals, and SPIRE's warning about SVID TTLs the CA TTL cannot honour. */
import assert from 'node:assert/strict';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { maxSvidTtlSeconds } from '../../../server/ca/requests.js';
import type { KeyType } from '../../../server/keymanager/key-manager.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { startTestCa } from '../../fakes/ca-harness.js';

describe('ServerCa: configuration', function () {
  this.timeout(30_000);

  it('allows SVIDs a sixth of the CA TTL, at most 7 days', () => {
    assert.equal(maxSvidTtlSeconds(24 * 3600), 4 * 3600);
    assert.equal(maxSvidTtlSeconds(365 * 24 * 3600), 7 * 24 * 3600);
  });

  it('starts quietly with the defaults', async () => {
    const { logger } = await startTestCa();
    assert.deepEqual(logger.at('warn'), []);
    assert.deepEqual(logger.at('info'), ['created an X.509 CA', 'created a JWT key']);
  });

  it('warns, as SPIRE does, when an SVID TTL is above a sixth of the CA TTL', async () => {
    const { logger } = await startTestCa({ x509SvidTtlSeconds: 5 * 3600, jwtSvidTtlSeconds: 300 });
    const warnings = logger.lines.filter((l) => l.level === 'warn');
    assert.deepEqual(warnings.map((w) => w.fields?.['setting']), ['x509SvidTtlSeconds', 'agentSvidTtlSeconds']);
    assert.equal(
      warnings[0]!.message,
      'x509SvidTtlSeconds (18000 s) is above the 14400 s the CA TTL (86400 s) allows: SVIDs issued late in a ' +
        "CA's life will be cut short at its expiry; lower the SVID TTL or raise caTtlSeconds to 6 times it",
    );
  });

  const refusals: [string, object, RegExp][] = [
    ['a zero CA TTL', { caTtlSeconds: 0 }, /^ca: caTtlSeconds must be a whole number of seconds above 0, got 0$/],
    ['a fractional SVID TTL', { x509SvidTtlSeconds: 1.5 }, /^ca: x509SvidTtlSeconds must be a whole number of seconds above 0, got 1\.5$/],
    ['a negative JWT TTL', { jwtSvidTtlSeconds: -1 }, /^ca: jwtSvidTtlSeconds must be a whole number of seconds above 0, got -1$/],
    ['an unknown key type', { keyType: 'rsa-1024' as KeyType }, /^ca: keyType "rsa-1024" is not supported: use one of ec-p256, ec-p384, rsa-2048$/],
    ['an empty server instance ID', { serverInstanceId: '' }, /^ca: serverInstanceId is required/],
  ];
  for (const [name, options, message] of refusals) {
    it(`refuses ${name} before generating anything`, async () => {
      const keyManager = new MemoryKeyManager();
      await assert.rejects(startTestCa({ keyManager, ...options }), (err: unknown) => {
        assert.ok(err instanceof CaError);
        assert.equal(err.code, CaErrorCode.config);
        assert.match(err.message, message);
        return true;
      });
      assert.deepEqual(await keyManager.listKeys(), []);
    });
  }
});
