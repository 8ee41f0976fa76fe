import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentStateStore } from '../../../agent/attestation/store.js';
import { silentLogger, type Logger } from '../../../agent/logger.js';

describe('agent state store', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sgs-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const state = () => ({
    trustDomain: 'example.org',
    bundleJson: '{"keys":[]}',
    svid: {
      id: 'spiffe://example.org/sigil/agent/join_token/t',
      chain: [Buffer.from('leaf'), Buffer.from('intermediate')],
      privateKey: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
      reattestable: false,
      expiresAt: 1234,
      issuedAtMs: 5678,
    },
  });

  it('keeps the state in a 0600 file in a 0700 directory, and reads it back', async () => {
    const store = new AgentStateStore(join(dir, 'data'), silentLogger);
    await store.prepare();
    assert.equal(await store.load(), undefined);
    const s = state();
    await Promise.all([store.save(s), store.save(s)]);
    assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);
    assert.equal(statSync(store.path).mode & 0o777, 0o600);
    const back = (await store.load())!;
    assert.equal(back.svid.id, s.svid.id);
    assert.deepEqual(back.svid.chain, s.svid.chain);
    assert.ok(back.svid.privateKey.equals(s.svid.privateKey));
    assert.equal(back.bundleJson, s.bundleJson);
    assert.equal(back.svid.issuedAtMs, 5678);
    await store.remove();
    assert.equal(await store.load(), undefined);
  });

  it('makes only the data directory private, not the parents it creates (the socket may live beside it)', async () => {
    const store = new AgentStateStore(join(dir, 'agent', 'data'), silentLogger);
    const umask = process.umask(0o022);
    try {
      await store.prepare();
    } finally {
      process.umask(umask);
    }
    assert.equal(statSync(join(dir, 'agent', 'data')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'agent')).mode & 0o777, 0o755);
  });

  it('treats an unreadable file as absent, saying why', async () => {
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (a: unknown, b?: unknown) => void warnings.push(String(typeof a === 'string' ? a : b)) };
    const store = new AgentStateStore(dir, logger);
    writeFileSync(store.path, '{"format": 99}');
    assert.equal(await store.load(), undefined);
    assert.deepEqual(warnings, ['agent: the stored agent SVID cannot be read; attesting anew']);
  });

  it('warns about a data directory others can enter', async () => {
    const open = join(dir, 'open');
    mkdirSync(open);
    chmodSync(open, 0o755);
    const warnings: string[] = [];
    const logger: Logger = { ...silentLogger, warn: (a: unknown, b?: unknown) => void warnings.push(String(typeof a === 'string' ? a : b)) };
    await new AgentStateStore(open, logger).prepare();
    assert.match(warnings[0] ?? '', /has mode 755/);
  });
});
