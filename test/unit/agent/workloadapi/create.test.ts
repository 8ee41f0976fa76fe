/**
 * The agent's entry points: createWorkloadApi takes pino as its logger unchanged (fields-first
 * calls) and serves on start, stops cleanly; createBuiltinWorkloadAttestors builds what is configured.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createBuiltinWorkloadAttestors, createWorkloadApi, type WorkloadApiLogger } from '../../../../agent/workloadapi/index.js';
import { FakeWorkloadView, TestAuthority } from '../../../fakes/workload-view.js';

describe('agent/workloadapi: createWorkloadApi', () => {
  it('runs with a pino logger and the built-in unix attestor, and logs through it', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _enc, cb) => (lines.push(chunk.toString()), cb()) });
    const logger: WorkloadApiLogger = pino({ level: 'info' }, sink);
    const dir = mkdtempSync('/tmp/sigil-create-');
    const socketPath = join(dir, 'api.sock');
    const api = createWorkloadApi({
      view: new FakeWorkloadView(await TestAuthority.create('example.org')),
      attestors: createBuiltinWorkloadAttestors({ unix: { discoverWorkloadPath: false } }),
      logger,
      trustDomain: 'example.org',
    });
    try {
      await api.start(socketPath);
      assert.ok(existsSync(socketPath));
      await assert.rejects(api.start(socketPath), /already started/);
      await api.stop();
      await api.stop();
      assert.equal(existsSync(socketPath), false);
      const listening = lines.map((l) => JSON.parse(l) as { msg: string; socketPath?: string; attestors?: string[] }).find((l) => l.msg === 'workload api: listening');
      assert.deepEqual([listening?.socketPath, listening?.attestors], [socketPath, ['unix']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
