/** The pkcs11 key manager's config checks and PIN sources: messages name the source, never the PIN. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyManagerError, KeyManagerErrorCode } from '../../../server/keymanager/errors.js';
import { checkConfig, readPin, type Pkcs11KeyManagerConfig } from '../../../server/keymanager/pkcs11/config.js';

const BASE: Pkcs11KeyManagerConfig = { module: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'sigil-ca', pinEnv: 'SIGIL_UNIT_PIN' };

function invalid(message: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof KeyManagerError, String(err));
    assert.equal(err.code, KeyManagerErrorCode.invalid);
    assert.match(err.message, message);
    return true;
  };
}

describe('keymanager(pkcs11): config and PIN', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'sigil-pkcs11-unit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(() => delete process.env['SIGIL_UNIT_PIN']);

  it('reads the PIN from a file, without its one trailing newline', async () => {
    const pinFile = join(dir, 'pin');
    writeFileSync(pinFile, '12 34\r\n');
    assert.equal(await readPin({ ...BASE, pinEnv: undefined, pinFile }), '12 34');
  });

  it('reads the PIN from an environment variable', async () => {
    process.env['SIGIL_UNIT_PIN'] = 'env-pin-5678';
    assert.equal(await readPin(BASE), 'env-pin-5678');
  });

  it('names a PIN file it cannot read, and the token', async () => {
    const pinFile = join(dir, 'missing');
    await assert.rejects(
      readPin({ ...BASE, pinEnv: undefined, pinFile }),
      invalid(new RegExp(`^keymanager\\(pkcs11\\): cannot read the PIN of token "sigil-ca" from pinFile ${pinFile}: ENOENT`)),
    );
  });

  it('refuses an empty PIN, naming where it should be', async () => {
    await assert.rejects(readPin(BASE), invalid(/the PIN of token "sigil-ca" is empty: put it in environment variable SIGIL_UNIT_PIN$/));
    const pinFile = join(dir, 'empty');
    writeFileSync(pinFile, '\n');
    await assert.rejects(readPin({ ...BASE, pinEnv: undefined, slot: 1, tokenLabel: undefined, pinFile }), invalid(/the PIN of the token in slot 1 is empty: put it in pinFile/));
  });

  const bad: [string, Partial<Pkcs11KeyManagerConfig>, RegExp][] = [
    ['no module', { module: '' }, /module is required/],
    ['both token label and slot', { slot: 0 }, /set exactly one of tokenLabel and slot/],
    ['a negative slot', { tokenLabel: undefined, slot: -1 }, /slot -1 is not an index ≥ 0/],
    ['no PIN source', { pinEnv: undefined }, /set exactly one of pinFile and pinEnv/],
    ['a label prefix with a space', { keyLabelPrefix: 'my ca' }, /keyLabelPrefix "my ca" is invalid/],
    ['too many sessions', { sessions: 65 }, /sessions must be 1 to 64/],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what}`, () => assert.throws(() => checkConfig({ ...BASE, ...change }), invalid(message)));
  }
});
