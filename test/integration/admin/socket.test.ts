/** The admin socket on disk: permissions, stale sockets, a second server, and what the CLI says when it cannot connect. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AdminErrorCode, createAdminApi, type AdminApi } from '../../../server/api/admin/index.js';
import { RecordingLogger, TD, ok, runSigil, useAdmin, type AdminFixture } from './harness.js';

function secondApi(t: AdminFixture, logger = new RecordingLogger()): AdminApi {
  return createAdminApi({ trustDomain: TD, datastore: t.ds, ca: t.ca, logger, health: async () => ({ ready: true, checks: {} }) });
}

/** A socket file whose server was SIGKILLed: nothing listens, but the file stays. */
async function staleSocket(path: string): Promise<void> {
  const script = `require('net').createServer().listen(${JSON.stringify(path)}, () => process.stdout.write('up\\n'))`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  assert.ok(statSync(path).isSocket());
}

describe('integration: admin socket', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('the socket is 0600 in a 0700 directory', () => {
    assert.equal(statSync(t().socket).mode & 0o777, 0o600);
    assert.ok(statSync(t().socket).isSocket());
    assert.equal(statSync(join(t().dir, 'private')).mode & 0o777, 0o700);
  });

  it('a second server on the same socket is refused, and the first keeps serving', async () => {
    await assert.rejects(secondApi(t()).start(t().socket), {
      code: AdminErrorCode.socket,
      message: `admin socket: another server is already listening on ${t().socket}: stop it first, or give this server another admin socket path`,
    });
    assert.equal(ok(await t().sigil('healthcheck')).stdout, 'Server is healthy.\n');
  });

  it('a stale socket left by a killed server is replaced', async () => {
    const path = join(t().dir, 'stale', 'admin.sock');
    mkdirSync(join(t().dir, 'stale'), { mode: 0o700 });
    await staleSocket(path);
    const logger = new RecordingLogger();
    const api = secondApi(t(), logger);
    await api.start(path);
    try {
      assert.ok(logger.at('info').includes(`admin: removing the stale admin socket ${path} left by a server that is no longer running`));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(ok(await runSigil(['server', 'healthcheck', '--admin-socket', path])).stdout, 'Server is healthy.\n');
    } finally {
      await api.stop();
    }
  });

  it('stop removes the socket; the CLI then says the socket is missing and what to do', async () => {
    const path = join(t().dir, 'stopped', 'admin.sock');
    const api = secondApi(t());
    await api.start(path);
    await api.stop();
    assert.equal(existsSync(path), false);
    const r = await runSigil(['server', 'entry', 'list', '--admin-socket', path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^Error: the admin socket .* does not exist\nIs `sigil server run` running\? Pass --admin-socket/);
  });

  it('a file that is not a socket is never removed', async () => {
    const path = join(t().dir, 'file', 'admin.sock');
    mkdirSync(join(t().dir, 'file'), { mode: 0o700 });
    writeFileSync(path, 'precious');
    await assert.rejects(secondApi(t()).start(path), {
      message: `admin socket: ${path} exists and is not a socket; refusing to replace it: remove it or choose another path`,
    });
    assert.equal(statSync(path).size, 8);
    const r = await runSigil(['server', 'entry', 'list', '--admin-socket', path]);
    assert.match(r.stderr, /is not a socket\n/);
  });

  it('an existing directory open to others is left alone, with a warning', async () => {
    const dir = join(t().dir, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    const logger = new RecordingLogger();
    const api = secondApi(t(), logger);
    await api.start(join(dir, 'admin.sock'));
    await api.stop();
    assert.equal(statSync(dir).mode & 0o777, 0o755);
    assert.ok(logger.at('warn').some((m) => m.includes(`the admin socket's directory ${dir} has mode 755`)));
  });

  it('a path longer than a Unix socket allows is refused up front', async () => {
    const path = join(t().dir, 'x'.repeat(120), 'admin.sock');
    await assert.rejects(secondApi(t()).start(path), /admin socket: .* bytes long, and Unix sockets allow at most 107: choose a shorter path$/);
  });

  it('start twice on one API is refused', async () => {
    await assert.rejects(t().api.start(t().socket), { message: 'admin socket: the admin API is already started' });
  });

  it('the CLI finds the socket through SIGIL_ADMIN_SOCKET', async () => {
    const r = ok(await runSigil(['server', 'healthcheck'], { env: { SIGIL_ADMIN_SOCKET: t().socket } }));
    assert.equal(r.stdout, 'Server is healthy.\n');
  });
});
