/** Every admin command explains itself: --help with examples, and the options every admin command shares. */
import assert from 'node:assert/strict';
import { runSigil } from './harness.js';

const COMMANDS = [
  ['entry', 'create'], ['entry', 'show'], ['entry', 'list'], ['entry', 'count'], ['entry', 'update'], ['entry', 'delete'],
  ['token', 'generate'], ['agent', 'list'], ['agent', 'show'], ['agent', 'ban'], ['agent', 'evict'], ['bundle', 'show'], ['ca', 'show'],
  ['ca', 'rotate'], ['healthcheck'],
];

describe('integration: admin CLI help', function () {
  this.timeout(60_000);

  it('`sigil server --help` lists the admin nouns', async () => {
    const r = await runSigil(['server', '--help']);
    assert.equal(r.status, 0, r.stderr);
    for (const noun of ['entry', 'token', 'agent', 'bundle', 'ca', 'healthcheck']) assert.match(r.stdout, new RegExp(`^\\s+${noun}\\b`, 'm'), noun);
  });

  for (const path of COMMANDS) {
    it(`sigil server ${path.join(' ')} --help`, async () => {
      const r = await runSigil(['server', ...path, '--help']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: sigil server ${path.join(' ')} `, 'm'));
      const flat = r.stdout.replace(/\s+/g, ' ');
      assert.ok(flat.includes('--admin-socket <path> path of the server\'s admin socket (default: "/tmp/sigil-server/private/admin.sock", env: SIGIL_ADMIN_SOCKET)'), flat);
      assert.match(r.stdout, /--output <format>/);
      assert.match(r.stdout, new RegExp(`\\nExamples:\\n  \\$ sigil server ${path.join(' ')}`));
    });
  }

  it('a missing required flag is a usage error with exit code 1', async () => {
    const r = await runSigil(['server', 'entry', 'show']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /required option '--id <id>' not specified/);
  });
});
