/**
 * The socket's file-system side (directory 0755 created, socket 0777, stale socket replaced, a live
 * agent's socket and a non-socket left alone, the file removed on stop) and grpc.health.v1 on it.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { WorkloadApiServer, WorkloadSocketError } from '../../../agent/workloadapi/index.js';
import { FakeWorkloadView } from '../../fakes/workload-view.js';
import { RecordingLogger, startHarness, testAuthority } from './harness.js';
import { TestWorkloadClient } from './workload-client.js';

async function newServer(): Promise<{ server: WorkloadApiServer; logger: RecordingLogger }> {
  const logger = new RecordingLogger();
  const view = new FakeWorkloadView(await testAuthority());
  return { server: new WorkloadApiServer({ view, attestors: [], logger, trustDomain: 'example.org' }), logger };
}

describe('workload api: socket', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync('/tmp/sigil-wls-');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates the directory 0755 and the socket 0777, and removes the socket on stop', async () => {
    const path = join(dir, 'a', 'b', 'api.sock');
    const { server } = await newServer();
    const old = process.umask(0o077);
    try {
      await server.start(path);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(join(dir, 'a', 'b')).mode & 0o777, 0o755);
    assert.equal(statSync(path).mode & 0o777, 0o777);
    assert.ok(statSync(path).isSocket());
    await server.stop();
    assert.equal(existsSync(path), false);
  });

  it('replaces a stale socket left by a dead agent', async () => {
    const path = join(dir, 'api.sock');
    // A listener killed with SIGKILL leaves its socket file behind, as a crashed agent does.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => child.stdout.once('data', r));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(existsSync(path));
    const { server, logger } = await newServer();
    await server.start(path);
    assert.ok(logger.find('info', 'removing a stale socket'));
    await server.stop();
  });

  it('refuses a socket a live agent is serving, and a path that is not a socket', async () => {
    const path = join(dir, 'api.sock');
    const first = await newServer();
    await first.server.start(path);
    try {
      const second = await newServer();
      await assert.rejects(second.server.start(path), (err: unknown) => err instanceof WorkloadSocketError && /already listening/.test(err.message));
    } finally {
      await first.server.stop();
    }
    const file = join(dir, 'file');
    writeFileSync(file, 'x');
    const third = await newServer();
    await assert.rejects(third.server.start(file), /exists and is not a socket/);
    await assert.rejects(third.server.start('relative/api.sock'), /not an absolute path/);
    await assert.rejects(third.server.start(`/tmp/${'x'.repeat(120)}`), /at most 107/);
  });

  it('leaves an existing directory as the operator made it', async () => {
    const sub = join(dir, 'mine');
    mkdirSync(sub);
    chmodSync(sub, 0o711);
    const { server } = await newServer();
    await server.start(join(sub, 'api.sock'));
    assert.equal(statSync(sub).mode & 0o777, 0o711);
    await server.stop();
  });

  it('ends open streams on stop', async () => {
    const h = await startHarness();
    const client = new TestWorkloadClient(h.socketPath);
    try {
      const call = client.stream('FetchX509Bundles');
      const ended = new Promise<number>((r) => call.on('status', (s: { code: number }) => r(s.code)));
      call.on('error', () => undefined);
      await new Promise((r) => call.once('data', r));
      await h.server.stop();
      assert.notEqual(await ended, status.OK);
      assert.equal(h.view.subscriberCount, 0);
      assert.equal(h.server.connections, 0);
    } finally {
      client.close();
      await h.close();
    }
  });
});

describe('workload api: grpc.health.v1 on the socket', () => {
  it('SERVING when ready, NOT_SERVING with the reason otherwise; liveness separately; unknown service NOT_FOUND', async () => {
    const h = await startHarness();
    const client = new TestWorkloadClient(h.socketPath);
    try {
      assert.deepEqual(await client.health(''), { status: 'SERVING', detail: '' });
      assert.equal((await client.health('SpiffeWorkloadAPI')).status, 'SERVING');
      h.view.healthState = { ready: false, live: true, detail: 'waiting for the first sync' };
      assert.deepEqual(await client.health(''), { status: 'NOT_SERVING', detail: 'waiting for the first sync' });
      assert.equal((await client.health('liveness')).status, 'SERVING');
      h.view.healthState = { ready: false, live: false, detail: 'node attestation failed' };
      assert.equal((await client.health('liveness')).status, 'NOT_SERVING');
      await assert.rejects(client.health('nope'), (err: { code: number }) => err.code === status.NOT_FOUND);
    } finally {
      client.close();
      await h.close();
    }
  });
});
