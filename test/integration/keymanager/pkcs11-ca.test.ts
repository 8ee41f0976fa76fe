/**
 * The server CA with its keys in a real SoftHSM2 token: the keys are in the token and cannot leave
 * it, the CA certificate is the token key's, concurrent minting over the agent API all succeeds,
 * and a token that goes away is reported (health not ready) and found again when it is back.
 * In-process servers use the agent API harness with a pkcs11 key manager.
 */
import assert from 'node:assert/strict';
import { X509Certificate, type KeyObject } from 'node:crypto';
import pkcs11js from 'pkcs11js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { parseAndVerifyX509Svid } from '../../../spiffe/x509svid/index.js';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { SharedModule } from '../../../server/keymanager/pkcs11/module.js';
import { findObjects } from '../../../server/keymanager/pkcs11/objects.js';
import { Pkcs11KeyManager } from '../../../server/keymanager/pkcs11/pkcs11.js';
import { createSoftHsmToken, type SoftHsmToken } from '../../support/softhsm.js';
import { csrsForOneKey } from '../../support/agent-client.js';
import { attestAgent, entry, sqliteUrls, startServer, TD, type TestAgent, type TestServer } from '../agent-api/harness.js';

/** The private key objects pkcs11-tool lists, as `label → the object's lines`. */
function listedPrivateKeys(token: SoftHsmToken): Map<string, string> {
  const r = token.pkcs11Tool('--token-label', token.tokenLabel, '--login', '--pin', token.pin, '--list-objects', '--type', 'privkey');
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, string>();
  for (const block of r.stdout.split(/^(?=Private Key Object)/m).filter((b) => b.startsWith('Private Key Object'))) {
    const label = /label:\s+(\S+)/.exec(block)?.[1];
    if (label !== undefined) out.set(label, block);
  }
  return out;
}

/**
 * The EC point pkcs11-tool lists for the public key object `label` (uncompressed, 04||x||y),
 * independent of sigil's code. (Its --read-object cannot export P-384 keys in opensc 0.23.)
 */
function tokenEcPoint(token: SoftHsmToken, label: string): Buffer {
  const r = token.pkcs11Tool('--token-label', token.tokenLabel, '--list-objects', '--type', 'pubkey');
  assert.equal(r.status, 0, r.stderr);
  const block = r.stdout.split(/^(?=Public Key Object)/m).find((b) => new RegExp(`label:\\s+${label}$`, 'm').test(b));
  const hex = /EC_POINT:\s+04([0-9a-f]{2})([0-9a-f]+)/.exec(block ?? '');
  assert.ok(hex, `no EC public key ${label} in\n${r.stdout}`);
  const point = Buffer.from(hex[2]!, 'hex');
  assert.equal(point.length, parseInt(hex[1]!, 16), 'CKA_EC_POINT is a DER OCTET STRING around the point');
  return point;
}

/** The uncompressed point of an EC public key. */
function pointOf(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

describe('pkcs11 key manager: the server CA in a SoftHSM2 token', function () {
  this.timeout(60_000);
  let token: SoftHsmToken;
  let undoEnv: () => void;
  let km: Pkcs11KeyManager;
  let server: TestServer;
  const urls = sqliteUrls();
  const agents: TestAgent[] = [];

  before(async () => {
    token = createSoftHsmToken({ label: 'sigil-ca-it' });
    undoEnv = token.useInProcess();
    km = await Pkcs11KeyManager.open(token.keyManagerConfig({ sessions: 2 }));
    server = await startServer(urls.next(), { ca: { keyManager: km, keyType: 'ec-p256', jwtKeyType: 'ec-p384' } });
  });
  after(async () => {
    for (const a of agents) a.close();
    await server?.stop();
    await km?.close();
    undoEnv?.();
    token?.cleanup();
    urls.cleanup();
  });

  it('keeps the CA and JWT keys in the token: private, sensitive, never extractable', () => {
    const keys = listedPrivateKeys(token);
    assert.deepEqual([...keys.keys()].sort(), ['sigil-JWT-Signer-A', 'sigil-x509-CA-A']);
    for (const [label, block] of keys) {
      assert.match(block, /Access:\s+sensitive, always sensitive, never extractable, local/, `${label}:\n${block}`);
      assert.match(block, /Usage:\s+sign$/m, `${label} may only sign:\n${block}`);
    }
    const status = server.ca.status();
    assert.ok(status.ready);
    assert.equal(status.x509.keyLocation, 'pkcs11:token=sigil-ca-it;object=sigil-x509-CA-A;type=private');
    assert.equal(status.jwt.keyLocation, 'pkcs11:token=sigil-ca-it;object=sigil-JWT-Signer-A;type=private');
  });

  it('refuses C_GetAttributeValue of the private value (CKR_ATTRIBUTE_SENSITIVE)', async () => {
    const module = SharedModule.acquire(token.module);
    try {
      await module.call((lib) => {
        const slot = lib.C_GetSlotList(true).find((s) => lib.C_GetTokenInfo(s).label.trimEnd() === token.tokenLabel)!;
        const session = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
        try {
          const [handle] = findObjects(lib, session, [
            { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
            { type: pkcs11js.CKA_LABEL, value: 'sigil-x509-CA-A' },
          ]);
          assert.ok(handle !== undefined, 'the key manager is logged in, so the private key is visible');
          assert.throws(
            () => lib.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_VALUE }]),
            (err: unknown) => err instanceof pkcs11js.Pkcs11Error && err.code === pkcs11js.CKR_ATTRIBUTE_SENSITIVE,
          );
          const flags = lib.C_GetAttributeValue(session, handle, [
            { type: pkcs11js.CKA_TOKEN }, { type: pkcs11js.CKA_PRIVATE }, { type: pkcs11js.CKA_SENSITIVE },
            { type: pkcs11js.CKA_ALWAYS_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_NEVER_EXTRACTABLE },
          ]);
          assert.deepEqual(flags.map((a) => a.value[0]), [1, 1, 1, 1, 0, 1], 'token, private, sensitive, always sensitive, not extractable, never extractable');
        } finally {
          lib.C_CloseSession(session);
        }
      });
    } finally {
      module.release();
    }
  });

  it('puts the token key in the CA certificate: its public key is what pkcs11-tool reads from the token', async () => {
    const [root] = await server.roots();
    assert.deepEqual(pointOf(root!.publicKey), tokenEcPoint(token, 'sigil-x509-CA-A'));
    assert.equal(root!.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const jwtKeys = [...(await server.ca.bundle()).jwtAuthorities().values()];
    assert.equal(jwtKeys.length, 1);
    assert.deepEqual(pointOf(jwtKeys[0]!), tokenEcPoint(token, 'sigil-JWT-Signer-A'));
    assert.equal(jwtKeys[0]!.asymmetricKeyDetails?.namedCurve, 'secp384r1');
  });

  it('mints for 12 agents at once, X.509 batches and JWTs, every one valid', async () => {
    for (let i = 0; i < 12; i++) agents.push(await attestAgent(server));
    const csrs = await csrsForOneKey(5);
    const work = agents.map(async (agent, i) => {
      const entries = await server.ds.entries.create(Array.from({ length: 5 }, (_, j) => entry(`/w${i}/${j}`, agent.agentId)));
      const [x509, jwt] = await Promise.all([
        agent.client.mintX509(entries.map((e, j) => ({ entry_id: e.id, csr: csrs[j]! }))),
        agent.client.mintJwt(entries[0]!.id, ['api']),
      ]);
      return { i, x509, jwt };
    });
    const results = await Promise.all(work);
    const bundle = SpiffeBundle.parse(TD, agents[0]!.bundleJson);
    for (const { i, x509, jwt } of results) {
      assert.equal(x509.results.length, 5);
      for (const [j, r] of x509.results.entries()) {
        assert.equal(r.error, null, JSON.stringify(r.error));
        assert.equal(parseAndVerifyX509Svid(r.svid_chain, bundle).id.toString(), `spiffe://example.org/w${i}/${j}`);
      }
      const validated = await parseAndValidate(jwt.token, await server.ca.bundle(), ['api']);
      assert.equal(validated.id.toString(), `spiffe://example.org/w${i}/0`);
    }
  });

  it('says it cannot sign while the token is gone, fails requests with UNAVAILABLE, and signs again once it is back', async () => {
    assert.deepEqual(await km.health(), { ok: true, detail: 'token "sigil-ca-it", 2 sessions, 2 key(s) sign' });
    const csrs = await csrsForOneKey(1);
    const [e] = await server.ds.entries.create([entry('/outage', agents[0]!.agentId)]);
    token.remove();
    try {
      const health = await km.health();
      assert.equal(health.ok, false);
      assert.match(health.detail, /^cannot sign: .*token "sigil-ca-it" is not in PKCS#11 module .*libsofthsm2\.so \(it has no initialized token\)/);
      const res = await agents[0]!.client.mintX509([{ entry_id: e!.id, csr: csrs[0]! }]);
      assert.equal(res.results[0]!.error?.code, 14, 'UNAVAILABLE');
      assert.match(res.results[0]!.error!.message, /token "sigil-ca-it"/);
      await assert.rejects(km.getKey('x509-CA-A'), (err: unknown) => err instanceof KeyManagerError && err.code === KeyManagerErrorCode.unavailable);
    } finally {
      token.restore();
    }
    // Reconnects are at most once a second: the first health check after that finds the token.
    const deadline = Date.now() + 10_000;
    let health = await km.health();
    while (!health.ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      health = await km.health();
    }
    assert.equal(health.ok, true, health.detail);
    const res = await agents[0]!.client.mintX509([{ entry_id: e!.id, csr: csrs[0]! }]);
    assert.equal(res.results[0]!.error, null);
    const [root] = await server.roots();
    assert.ok(new X509Certificate(res.results[0]!.svid_chain[0]!).verify(root!.publicKey), 'signed by the same CA key');
  });
});
