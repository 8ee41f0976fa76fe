/** The disk key manager beyond the shared suite: what survives a restart and what a bad file does. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { verifies } from '../../conformance/keymanager/keymanager.suite.js';

describe('keymanager(disk)', function () {
  this.timeout(30_000);
  let dir: string;
  let keysPath: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-km-disk-'));
    keysPath = join(dir, 'state', 'keys.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function rejectsCorrupt(detail: RegExp): Promise<void> {
    return assert.rejects(DiskKeyManager.open({ keysPath }), (err: unknown) => {
      assert.ok(err instanceof KeyManagerError);
      assert.equal(err.code, KeyManagerErrorCode.corrupt);
      assert.ok(err.message.startsWith(`keymanager(disk): keys file ${keysPath} is corrupt: `), err.message);
      assert.match(err.message, detail);
      assert.match(err.message, /restore it from a backup, or move it away/);
      return true;
    });
  }

  it('finds the same keys after a restart, and signatures made before still verify', async () => {
    const km = await DiskKeyManager.open({ keysPath });
    const ca = await km.generateKey('x509-CA-A', 'ec-p256');
    const jwt = await km.generateKey('JWT-Signer-A', 'rsa-2048');
    await km.generateKey('gone', 'ec-p384');
    await km.deleteKey('gone');
    const data = randomBytes(100);
    const sig = await ca.signer().sign(data);
    await km.close();

    const again = await DiskKeyManager.open({ keysPath });
    const listed = await again.listKeys();
    assert.deepEqual(listed.map((k) => [k.id, k.keyType]), [['JWT-Signer-A', 'rsa-2048'], ['x509-CA-A', 'ec-p256']]);
    const ca2 = await again.getKey('x509-CA-A');
    assert.ok(ca2 !== undefined && ca2.publicKey.equals(ca.publicKey));
    assert.ok((await again.getKey('JWT-Signer-A'))?.publicKey.equals(jwt.publicKey));
    assert.equal(ca2.location, `disk:${keysPath}#x509-CA-A`);
    assert.ok(verifies(ca2, data, sig));
    const data2 = randomBytes(100);
    assert.ok(verifies(ca, data2, await ca2.signer().sign(data2)));
    await again.close();
  });

  it('writes the file 0600 in a directory it creates 0700, leaving no temporary files', async () => {
    const km = await DiskKeyManager.open({ keysPath });
    // Regenerating 'a' is ordered after its first generation: two concurrent generations of one id
    // finish in whatever order the thread pool does, so which one wins is not this test's question.
    await km.generateKey('a', 'ec-p256');
    await Promise.all([km.generateKey('b', 'ec-p256'), km.generateKey('a', 'ec-p384')]);
    await km.close();
    assert.equal(statSync(keysPath).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'state')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'state')), ['keys.json']);
    const doc = JSON.parse(readFileSync(keysPath, 'utf8')) as { version: number; keys: Record<string, { type: string; pkcs8: string }> };
    assert.equal(doc.version, 1);
    assert.deepEqual(Object.keys(doc.keys), ['a', 'b']);
    assert.equal(doc.keys['a']?.type, 'ec-p384');
    assert.match(doc.keys['b']?.pkcs8 ?? '', /^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('starts empty when the file does not exist, and writes nothing until a key is made', async () => {
    const km = await DiskKeyManager.open({ keysPath });
    assert.deepEqual(await km.listKeys(), []);
    await km.close();
    assert.deepEqual(readdirSync(join(dir, 'state')), []);
  });

  const corruptCases: [string, string, RegExp][] = [
    ['an empty file', '', /not JSON/],
    ['text that is not JSON', '{"version":1,', /not JSON/],
    ['a JSON array', '[]', /the document is not a JSON object/],
    ['another version', '{"version":2,"keys":{}}', /version is 2, expected 1/],
    ['keys that are not an object', '{"version":1,"keys":[]}', /"keys" is not a JSON object/],
    ['an unknown key type', '{"version":1,"keys":{"k":{"type":"dsa","pkcs8":"x"}}}', /key "k" has unknown type "dsa"/],
    ['a missing PEM', '{"version":1,"keys":{"k":{"type":"ec-p256"}}}', /key "k" has no PKCS#8 PEM private key/],
    [
      'a PEM that does not parse',
      '{"version":1,"keys":{"k":{"type":"ec-p256","pkcs8":"-----BEGIN PRIVATE KEY-----\\nAAAA\\n-----END PRIVATE KEY-----\\n"}}}',
      /key "k" cannot be read/,
    ],
    ['an invalid key id', '{"version":1,"keys":{"../x":{"type":"ec-p256","pkcs8":""}}}', /key id "\.\.\/x" is invalid/],
  ];
  for (const [name, text, detail] of corruptCases) {
    it(`refuses ${name}, naming the file, and leaves it as it was`, async () => {
      mkdirSync(join(dir, 'state'));
      writeFileSync(keysPath, text);
      await rejectsCorrupt(detail);
      assert.equal(readFileSync(keysPath, 'utf8'), text);
    });
  }

  it('refuses a key whose recorded type is not what it is', async () => {
    const km = await DiskKeyManager.open({ keysPath });
    await km.generateKey('x509-CA-A', 'ec-p384');
    await km.close();
    writeFileSync(keysPath, readFileSync(keysPath, 'utf8').replace('"ec-p384"', '"ec-p256"'));
    await rejectsCorrupt(/key "x509-CA-A" is recorded as ec-p256 but is ec-p384/);
  });

  it('reports a keys path it cannot read as an I/O error naming it', async () => {
    mkdirSync(keysPath, { recursive: true });
    await assert.rejects(DiskKeyManager.open({ keysPath }), (err: unknown) => {
      assert.ok(err instanceof KeyManagerError);
      assert.equal(err.code, KeyManagerErrorCode.io);
      assert.ok(err.message.startsWith(`keymanager(disk): cannot read keys file ${keysPath}: `), err.message);
      return true;
    });
  });

  it('keeps its view unchanged when the file cannot be written', async () => {
    const km = await DiskKeyManager.open({ keysPath });
    await km.generateKey('x509-CA-A', 'ec-p256');
    rmSync(join(dir, 'state'), { recursive: true });
    writeFileSync(join(dir, 'state'), 'not a directory');
    await assert.rejects(km.generateKey('x509-CA-B', 'ec-p256'), (err: unknown) => {
      assert.ok(err instanceof KeyManagerError);
      assert.equal(err.code, KeyManagerErrorCode.io);
      assert.ok(err.message.startsWith(`keymanager(disk): cannot write keys file ${keysPath}: `), err.message);
      return true;
    });
    assert.deepEqual((await km.listKeys()).map((k) => k.id), ['x509-CA-A']);
    await km.close();
  });
});
