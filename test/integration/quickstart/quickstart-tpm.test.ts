/**
 * `npm run quickstart -- --tpm`: the agent attests with an swtpm TPM the script provisions (no join
 * token); a re-run attests again to the same agent ID; `--stop` stops agent, server and swtpm.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { alive, pids, quickstart } from './harness.js';

const ATTESTED = /attested with the TPM as (spiffe:\/\/quickstart\.sigil\.test\/sigil\/agent\/tpm\/[0-9a-f]{64}) in (\d+) ms/;

describe('integration: npm run quickstart -- --tpm', function () {
  this.timeout(300_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync('/tmp/sigil-qst-');
  });
  after(() => {
    for (const pid of Object.values(pids(dir))) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('attests with swtpm, fetches a verified SVID, re-attests to the same ID on a re-run, and stops all three', () => {
    const first = quickstart(dir, '--tpm');
    assert.equal(first.status, 0, first.out);
    const id = ATTESTED.exec(first.out)?.[1];
    assert.ok(id, first.out);
    assert.match(first.out, /chain verified against the trust bundle/);
    assert.deepEqual(Object.keys(pids(dir)).sort(), ['agent', 'server', 'swtpm']);

    const again = quickstart(dir, '--tpm');
    assert.equal(again.status, 0, again.out);
    assert.equal(ATTESTED.exec(again.out)?.[1], id, 'the same TPM gives the same agent ID');
    assert.match(again.out, /is already registered/);

    const running = pids(dir);
    const stopped = quickstart(dir, '--stop');
    assert.equal(stopped.status, 0, stopped.out);
    assert.match(stopped.out, /stopped the agent[\s\S]*stopped the server[\s\S]*stopped the swtpm/);
    for (const pid of Object.values(running)) assert.ok(!alive(pid), `pid ${pid} should be stopped`);
  });
});
