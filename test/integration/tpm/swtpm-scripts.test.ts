/**
 * The swtpm/ scripts on their own: a pid file that outlived its swtpm (a reboot, a killed test) may
 * name another process by now; start.sh must not take it for a running swtpm, and stop.sh must not
 * kill it.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alive } from '../../support/process.js';
import { REPO_ROOT } from '../../support/shared.js';
import { useSwtpms } from './harness.js';

const run = promisify(execFile);
const script = (name: string): string => join(REPO_ROOT, 'swtpm', name);

describe('swtpm/ scripts', function () {
  this.timeout(60_000);
  const tpms = useSwtpms(['a']);
  let bystander: ChildProcess | undefined;

  afterEach(() => {
    if (bystander?.pid !== undefined && alive(bystander.pid)) bystander.kill('SIGKILL');
    bystander = undefined;
  });

  /** A process that is not swtpm, its pid written where swtpm's would be. */
  function stalePidFile(): number {
    bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    writeFileSync(join(tpms.a.dir, 'swtpm.pid'), `${bystander.pid!}\n`);
    return bystander.pid!;
  }

  it('stop.sh removes a stale pid file and leaves the process it names alone', async () => {
    await tpms.a.stop();
    const pid = stalePidFile();
    const r = await run(script('stop.sh'), [tpms.a.dir]);
    assert.match(r.stdout, /swtpm is not running on .* \(removed a stale pid file\)/);
    assert.ok(alive(pid), 'the process named by the stale pid file is still running');
    assert.equal(existsSync(join(tpms.a.dir, 'swtpm.pid')), false);
  });

  it('start.sh starts over a stale pid file, and stop.sh then stops the swtpm', async () => {
    await tpms.a.stop();
    const pid = stalePidFile();
    await tpms.a.start();
    assert.notEqual(tpms.a.port, 0);
    assert.deepEqual(await tpms.a.loadedHandles(), [], 'the started swtpm answers');
    await run(script('stop.sh'), [tpms.a.dir]);
    assert.ok(alive(pid), 'the bystander is still running');
  });
});
