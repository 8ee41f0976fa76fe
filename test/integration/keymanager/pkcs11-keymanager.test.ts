/**
 * The pkcs11 key manager on a SoftHSM2 token, beyond the conformance suite: keys found again by a
 * new key manager (a new C_Initialize, as after a restart), the token chosen by slot index, a
 * replaced key's old handle refused without disturbing the token's other keys, lost sessions
 * replaced, a request queued across a reinitialization kept off the handles the module hands out
 * again, a CA for every key type, and the PIN from an environment variable.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerCa } from '../../../server/ca/index.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { KEY_TYPES } from '../../../server/keymanager/key-manager.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { opensslVerify } from '../../fakes/ca-harness.js';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { SharedModule } from '../../../server/keymanager/pkcs11/module.js';
import { Pkcs11KeyManager } from '../../../server/keymanager/pkcs11/pkcs11.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';
import type { Logger } from '../../../server/logger.js';
import { verifies } from '../../conformance/keymanager/keymanager.suite.js';

const TD = TrustDomain.fromString('example.org');

describe('pkcs11 key manager on a SoftHSM2 token', function () {
  this.timeout(60_000);
  let token: SoftHsmToken;
  let undoEnv: () => void;
  before(() => {
    token = createSoftHsmToken({ label: 'sigil-km-it' });
    undoEnv = token.useInProcess();
  });
  after(() => {
    undoEnv();
    token.cleanup();
  });

  it('finds its keys again in a new key manager (the module finalized and initialized again), by label', async () => {
    const first = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: 'reopen' }));
    const made = await first.generateKey('x509-CA-A', 'rsa-2048');
    await first.generateKey('JWT-Signer-A', 'ec-p384');
    await first.close();

    const second = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: 'reopen' }));
    try {
      const found = await second.getKey('x509-CA-A');
      assert.ok(found !== undefined && found.publicKey.equals(made.publicKey));
      assert.equal(found.location, 'pkcs11:token=sigil-km-it;object=reopen-x509-CA-A;type=private');
      const data = randomBytes(100);
      assert.ok(verifies(made, data, await found.signer().sign(data)));
      assert.deepEqual((await second.listKeys()).map((k) => [k.id, k.keyType]), [['JWT-Signer-A', 'ec-p384'], ['x509-CA-A', 'rsa-2048']]);
    } finally {
      await second.close();
    }
  });

  it('chooses the token by slot index, and names a slot that is not there', async () => {
    const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ tokenLabel: undefined, slot: 0, keyLabelPrefix: 'slot' }));
    try {
      const key = await km.generateKey('x509-CA-A', 'ec-p256');
      assert.equal(key.location, 'pkcs11:slot-index=0;object=slot-x509-CA-A;type=private');
    } finally {
      await km.close();
    }
    await assert.rejects(Pkcs11KeyManager.open(token.keyManagerConfig({ tokenLabel: undefined, slot: 7 })), (err: unknown) => {
      assert.ok(err instanceof KeyManagerError);
      assert.equal(err.code, KeyManagerErrorCode.unavailable);
      assert.match(err.message, /^keymanager\(pkcs11\): PKCS#11 module \/usr\/lib\/softhsm\/libsofthsm2\.so has \d slot\(s\) with a token, so there is no slot 7: /);
      return true;
    });
  });

  it("refuses to sign with a key that was replaced, and the token's other keys keep signing", async () => {
    const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: 'replace' }));
    try {
      const old = await km.generateKey('x509-CA-A', 'ec-p256');
      const other = await km.generateKey('JWT-Signer-A', 'ec-p256');
      const replacement = await km.generateKey('x509-CA-A', 'ec-p256');
      await assert.rejects(old.signer().sign(Buffer.from('x')), (err: unknown) => {
        assert.ok(err instanceof KeyManagerError);
        assert.match(err.message, /cannot sign with pkcs11:token=sigil-km-it;object=replace-x509-CA-A;type=private: the key \(CKA_ID [0-9a-f]{32}\) is no longer in the token/);
        return true;
      });
      const data = Buffer.from('still signs');
      assert.ok(verifies(other, data, await other.signer().sign(data)));
      assert.ok(verifies(replacement, data, await replacement.signer().sign(data)));
      assert.deepEqual(await km.health(), { ok: true, detail: 'token "sigil-km-it", 4 sessions, 2 key(s) sign' });
    } finally {
      await km.close();
    }
  });

  it('retries on new sessions when its sessions are closed under it: 50 concurrent signatures all succeed', async () => {
    const warnings: string[] = [];
    const ignore = (): void => undefined;
    const logger: Logger = {
      debug: ignore, info: ignore, error: ignore,
      warn: (a: unknown, b?: unknown) => void warnings.push(String(typeof a === 'string' ? a : b)),
      child: () => logger,
    };
    const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: 'lost', sessions: 2 }), { logger });
    const module = SharedModule.acquire(token.module);
    try {
      const key = await km.generateKey('x509-CA-A', 'ec-p256');
      await module.call((lib) => {
        for (const slot of lib.C_GetSlotList(true)) lib.C_CloseAllSessions(slot);
      });
      const data = Array.from({ length: 50 }, () => randomBytes(64));
      const sigs = await Promise.all(data.map((d) => key.signer().sign(d)));
      assert.ok(sigs.every((sig, i) => verifies(key, data[i]!, sig)));
      assert.equal((await km.health()).ok, true);
      assert.deepEqual(warnings, [
        'keymanager(pkcs11): token "sigil-km-it" failed (CKR_SESSION_HANDLE_INVALID in C_SignInit); reopening its sessions',
      ]);
    } finally {
      module.release();
      await km.close();
    }
  });

  it('never runs a request queued across a reinitialization on the old handles, which the module hands out again', async () => {
    const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: 'epoch', sessions: 1 }));
    const module = SharedModule.acquire(token.module);
    let other: Buffer | undefined;
    try {
      const key = await km.generateKey('x509-CA-A', 'ec-p256');
      let release!: () => void;
      const held = module.call(() => new Promise<void>((resolve) => (release = resolve)));
      const reinitialized = module.reinitialize(module.epoch);
      // Queued on the module before the signature: once the module is initialized again it opens a
      // session, which gets the handle the key manager's session had, and leaves a search active on it.
      const opened = module.call((lib) => {
        const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
        other = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
        lib.C_FindObjectsInit(other, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }]);
      });
      const data = randomBytes(64);
      const signed = key.signer().sign(data);
      release();
      await Promise.all([held, reinitialized, opened]);
      // On the old handle it would have hit the other session's search (CKR_OPERATION_ACTIVE).
      assert.ok(verifies(key, data, await signed));
    } finally {
      const session = other;
      if (session !== undefined) {
        await module.call((lib) => {
          lib.C_FindObjectsFinal(session);
          lib.C_CloseSession(session);
        });
      }
      module.release();
      await km.close();
    }
  });

  for (const keyType of KEY_TYPES) {
    it(`is a CA with a ${keyType} token key: X.509-SVIDs openssl verifies, JWT-SVIDs that validate`, async () => {
      const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ keyLabelPrefix: `ca-${keyType}` }));
      const ds = await openDatastore('sqlite::memory:');
      const dir = mkdtempSync(join(tmpdir(), 'sigil-pkcs11-ca-'));
      try {
        const ca = await ServerCa.start({
          trustDomain: TD, keyManager: km, keyType, jwtKeyType: keyType, bundles: ds.bundles, journals: ds.caJournals, serverInstanceId: 's1',
        });
        const spiffeId = SpiffeId.fromSegments(TD, 'ns', 'web');
        const leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
        const svid = await ca.issueX509Svid({ spiffeId, publicKey: leafKey, dnsNames: ['web.example.org'] });
        const roots = await ca.x509Authorities();
        assert.ok(roots[0]!.publicKey.equals((await km.getKey('x509-CA-A'))!.publicKey));
        const openssl = opensslVerify(dir, { roots, leaf: svid.certificates[0]! });
        assert.equal(openssl.status, 0, openssl.output);
        const jwt = await ca.issueJwtSvid({ spiffeId, audience: ['api'] });
        assert.equal((await parseAndValidate(jwt.token, await ca.bundle(), ['api'])).id.toString(), spiffeId.toString());
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await ds.close();
        await km.close();
      }
    });
  }

  it('logs in with the PIN from an environment variable', async () => {
    process.env['SIGIL_IT_HSM_PIN'] = token.pin;
    try {
      const km = await Pkcs11KeyManager.open(token.keyManagerConfig({ pinFile: undefined, pinEnv: 'SIGIL_IT_HSM_PIN', keyLabelPrefix: 'env' }));
      await km.close();
    } finally {
      delete process.env['SIGIL_IT_HSM_PIN'];
    }
  });
});
