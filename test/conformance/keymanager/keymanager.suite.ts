/**
 * What every KeyManager must do, whatever holds its keys (memory, a file, a PKCS#11 token): run by
 * keymanager.test.ts for each built-in. Signatures are checked with node:crypto against the public
 * key only, as a peer would.
 */
import assert from 'node:assert/strict';
import { randomBytes, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { KEY_TYPES, type KeyManager, type KeyType, type ManagedKey } from '../../../server/keymanager/key-manager.js';
import type { SignatureAlgorithm } from '../../../spiffe/x509svid/signer.js';

export interface KeyManagerHarness {
  /** A new, empty key manager. */
  open(): Promise<KeyManager>;
  /** Removes what open() created (files, token objects). */
  cleanup?(): Promise<void>;
}

const EXPECTED: Readonly<Record<KeyType, { algorithm: SignatureAlgorithm; check: (k: KeyObject) => boolean }>> = {
  'ec-p256': { algorithm: 'ecdsa-with-SHA256', check: (k) => k.asymmetricKeyDetails?.namedCurve === 'prime256v1' },
  'ec-p384': { algorithm: 'ecdsa-with-SHA384', check: (k) => k.asymmetricKeyDetails?.namedCurve === 'secp384r1' },
  'rsa-2048': {
    algorithm: 'sha256WithRSAEncryption',
    check: (k) => k.asymmetricKeyType === 'rsa' && k.asymmetricKeyDetails?.modulusLength === 2048,
  },
};

const DIGEST: Readonly<Record<SignatureAlgorithm, string>> = {
  'ecdsa-with-SHA256': 'sha256',
  'ecdsa-with-SHA384': 'sha384',
  sha256WithRSAEncryption: 'sha256',
};

/** Verifies as an X.509 relying party would: DER ECDSA, PKCS#1 v1.5 RSA. */
export function verifies(key: ManagedKey, data: Uint8Array, signature: Uint8Array): boolean {
  const digest = DIGEST[key.signer().algorithm];
  return cryptoVerify(digest, data, { key: key.publicKey, dsaEncoding: 'der' }, signature);
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof KeyManagerError, `expected a KeyManagerError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

export function keyManagerSuite(name: string, harness: KeyManagerHarness): void {
  describe(`KeyManager conformance: ${name}`, function () {
    this.timeout(60_000);
    let km: KeyManager;
    beforeEach(async () => {
      km = await harness.open();
    });
    afterEach(async () => {
      await km.close();
      await harness.cleanup?.();
    });

    it('names its type', () => {
      assert.equal(km.type, name);
    });

    for (const keyType of KEY_TYPES) {
      it(`generates a ${keyType} key whose signatures verify with its public key`, async () => {
        const key = await km.generateKey('x509-CA-A', keyType);
        assert.equal(key.id, 'x509-CA-A');
        assert.equal(key.keyType, keyType);
        assert.equal(key.publicKey.type, 'public');
        assert.ok(EXPECTED[keyType].check(key.publicKey), `public key is not ${keyType}`);
        assert.match(key.location, new RegExp(`^${name}:.*x509-CA-A`));
        const signer = key.signer();
        assert.equal(signer.algorithm, EXPECTED[keyType].algorithm);
        const data = randomBytes(300);
        const sig = await signer.sign(data);
        assert.ok(verifies(key, data, sig), 'signature does not verify');
        data[0]! ^= 1;
        assert.ok(!verifies(key, data, sig), 'signature verifies over different data');
      });
    }

    it('never hands out the private key', async () => {
      const key = await km.generateKey('JWT-Signer-A', 'ec-p256');
      const values = Object.values(key as unknown as Record<string, unknown>);
      assert.ok(!values.some((v) => (v as KeyObject | undefined)?.type === 'private'));
      assert.doesNotMatch(JSON.stringify(key), /PRIVATE/);
    });

    it('finds a generated key by id, with the same public key', async () => {
      const made = await km.generateKey('x509-CA-A', 'ec-p384');
      const found = await km.getKey('x509-CA-A');
      assert.ok(found !== undefined);
      assert.equal(found.id, made.id);
      assert.equal(found.keyType, 'ec-p384');
      assert.equal(found.location, made.location);
      assert.ok(found.publicKey.equals(made.publicKey));
      const data = randomBytes(64);
      assert.ok(verifies(made, data, await found.signer().sign(data)));
    });

    it('replaces a key when the id is generated again', async () => {
      const first = await km.generateKey('x509-CA-A', 'ec-p256');
      const second = await km.generateKey('x509-CA-A', 'rsa-2048');
      assert.ok(!first.publicKey.equals(second.publicKey));
      const found = await km.getKey('x509-CA-A');
      assert.equal(found?.keyType, 'rsa-2048');
      assert.ok(found?.publicKey.equals(second.publicKey));
      assert.deepEqual((await km.listKeys()).map((k) => k.id), ['x509-CA-A']);
    });

    it('lists every key, ordered by id', async () => {
      await km.generateKey('x509-CA-B', 'ec-p256');
      await km.generateKey('JWT-Signer-A', 'ec-p384');
      await km.generateKey('x509-CA-A', 'rsa-2048');
      const listed = await km.listKeys();
      assert.deepEqual(
        listed.map((k) => [k.id, k.keyType]),
        [['JWT-Signer-A', 'ec-p384'], ['x509-CA-A', 'rsa-2048'], ['x509-CA-B', 'ec-p256']],
      );
    });

    it('keeps every key when several are generated at once', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `key-${String(i).padStart(2, '0')}`);
      const made = await Promise.all(ids.map((id) => km.generateKey(id, 'ec-p256')));
      const listed = await km.listKeys();
      assert.deepEqual(listed.map((k) => k.id), ids);
      for (const [i, k] of listed.entries()) assert.ok(k.publicKey.equals(made[i]!.publicKey));
    });

    for (const keyType of KEY_TYPES) {
      it(`makes 200 valid ${keyType} signatures in parallel`, async () => {
        const key = await km.generateKey('x509-CA-A', keyType);
        const signer = key.signer();
        const inputs = Array.from({ length: 200 }, () => randomBytes(128));
        const sigs = await Promise.all(inputs.map((d) => signer.sign(d)));
        const bad = sigs.filter((s, i) => !verifies(key, inputs[i]!, s)).length;
        assert.equal(bad, 0, `${bad} of 200 signatures do not verify`);
      });
    }

    it('answers undefined for an unknown id', async () => {
      assert.equal(await km.getKey('no-such-key'), undefined);
      await km.generateKey('x509-CA-A', 'ec-p256');
      assert.equal(await km.getKey('x509-CA-B'), undefined);
    });

    it('refuses an invalid key id or key type, naming it', async () => {
      await rejectsWith(km.generateKey('', 'ec-p256'), KeyManagerErrorCode.invalid, /key id "" is invalid/);
      await rejectsWith(km.generateKey('a/b', 'ec-p256'), KeyManagerErrorCode.invalid, /key id "a\/b" is invalid/);
      await rejectsWith(
        km.generateKey('x509-CA-A', 'rsa-1024' as KeyType),
        KeyManagerErrorCode.invalid,
        /key type "rsa-1024" is not supported: use one of ec-p256, ec-p384, rsa-2048/,
      );
      await rejectsWith(km.getKey('../etc'), KeyManagerErrorCode.invalid, /key id "\.\.\/etc" is invalid/);
    });

    it('deletes a key, when it can', async function () {
      if (km.deleteKey === undefined) this.skip();
      await km.generateKey('x509-CA-A', 'ec-p256');
      await km.generateKey('x509-CA-B', 'ec-p256');
      assert.equal(await km.deleteKey('x509-CA-A'), true);
      assert.equal(await km.deleteKey('x509-CA-A'), false);
      assert.equal(await km.getKey('x509-CA-A'), undefined);
      assert.deepEqual((await km.listKeys()).map((k) => k.id), ['x509-CA-B']);
    });

    it('refuses calls after close', async () => {
      await km.generateKey('x509-CA-A', 'ec-p256');
      await km.close();
      await rejectsWith(km.generateKey('x509-CA-B', 'ec-p256'), KeyManagerErrorCode.closed, /closed/);
      await rejectsWith(km.getKey('x509-CA-A'), KeyManagerErrorCode.closed, /closed/);
      await rejectsWith(km.listKeys(), KeyManagerErrorCode.closed, /closed/);
    });
  });
}
