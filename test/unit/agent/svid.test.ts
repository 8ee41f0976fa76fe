import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { buildCsr } from '../../../agent/svid/csr.js';
import { generateWorkloadKey } from '../../../agent/svid/keys.js';
import { rotationTimeMs } from '../../../agent/svid/rotation.js';
import { backoffMs } from '../../../agent/client/backoff.js';
import { csrPublicKey } from '../../../server/api/agent/csr.js';
import { WORKLOAD_KEY_TYPES } from '../../../agent/config/index.js';

describe('agent workload keys and CSRs', () => {
  for (const type of WORKLOAD_KEY_TYPES) {
    it(`${type}: DER encodings equal OpenSSL's, and the server accepts the CSR`, async function () {
      this.timeout(10_000);
      const key = await generateWorkloadKey(type);
      assert.ok(key.pkcs8.equals(key.privateKey.export({ type: 'pkcs8', format: 'der' })), 'PKCS#8');
      assert.ok(key.spki.equals(createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' })), 'SPKI');
      const spki = await csrPublicKey(buildCsr(key), 'the CSR');
      assert.ok(spki.equals(key.spki), 'the server reads the same public key');
    });
  }

  it('makes a different key every time', async () => {
    const [a, b] = await Promise.all([generateWorkloadKey('ec-p256'), generateWorkloadKey('ec-p256')]);
    assert.ok(!a!.pkcs8.equals(b!.pkcs8));
  });
});

describe('agent rotation timing', () => {
  it('rotates between 45 % and 55 % of the lifetime', () => {
    assert.equal(rotationTimeMs(1000, 3000, () => 0), 1000 + 2000 * 0.45);
    assert.equal(rotationTimeMs(1000, 3000, () => 0.5), 2000);
    assert.equal(rotationTimeMs(1000, 3000, () => 1), 1000 + 2000 * 0.55);
    assert.equal(rotationTimeMs(5000, 1000, () => 0.5), 5000, 'an expired SVID is due now');
  });

  it('backs off exponentially with jitter, up to the cap', () => {
    assert.equal(backoffMs(0, 100, 1000, () => 0.5), 100);
    assert.equal(backoffMs(3, 100, 1000, () => 0.5), 800);
    assert.equal(backoffMs(10, 100, 1000, () => 0.5), 1000);
    assert.equal(backoffMs(0, 100, 1000, () => 0), 80);
    assert.equal(backoffMs(0, 100, 1000, () => 1), 120);
  });
});
