/**
 * `npm run quickstart` does the product's main job on embedded defaults: server, agent, an entry for
 * the current user, an SVID fetched over the Workload API and verified; re-running it reuses what is
 * there; `--stop` stops both. Run in a temp dir (SIGIL_QUICKSTART_DIR) so a user's run is untouched.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { userInfo } from 'node:os';
import { alive, pids as pidsByName, quickstart } from './harness.js';

const pids = (dir: string): number[] => Object.values(pidsByName(dir));

describe('integration: npm run quickstart', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    // Short path: the agent's socket path lives below it and must fit in sun_path (108 bytes).
    dir = mkdtempSync('/tmp/sigil-qs-');
  });
  after(() => {
    for (const pid of pids(dir)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const spiffeId = `spiffe://quickstart.sigil.test/user/${userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_')}`;

  it('starts a server and an agent, registers the current user and shows its verified SVID', () => {
    const r = quickstart(dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, new RegExp(`registering ${spiffeId} for unix:uid:${userInfo().uid}`));
    assert.match(r.out, new RegExp(`SPIFFE ID:\\s+${spiffeId}`));
    assert.match(r.out, /chain verified against the trust bundle/);
    assert.match(r.out, /stop both:\s+npm run quickstart -- --stop/);
    const running = pids(dir);
    assert.equal(running.length, 2);
    for (const pid of running) assert.ok(alive(pid), `pid ${pid} should still run`);
  });

  it('run again: restarts both, keeps the agent and its entry, and fetches again', () => {
    const before = pids(dir);
    const r = quickstart(dir);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /stopped the server/);
    assert.match(r.out, new RegExp(`${spiffeId} is already registered`));
    assert.match(r.out, /chain verified against the trust bundle/);
    for (const pid of before) assert.ok(!alive(pid), `old pid ${pid} should be gone`);
  });

  it('--stop stops both', () => {
    const running = pids(dir);
    const r = quickstart(dir, '--stop');
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /stopped the server/);
    assert.match(r.out, /stopped the agent/);
    for (const pid of running) assert.ok(!alive(pid), `pid ${pid} should be stopped`);
    assert.match(quickstart(dir, '--stop').out, /nothing was running/);
  });
});
