/** The built `sigil` executable, run as a user runs it (bin/sigil → dist/cli/main.js). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../../support/shared.js';

const SIGIL = join(REPO_ROOT, 'bin', 'sigil');

function sigil(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(SIGIL, args, { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli: sigil', () => {
  it('--help lists the server and agent commands', () => {
    const r = sigil('--help');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: sigil /m);
    assert.match(r.stdout, /^\s+server\s+run and administer the sigil server/m);
    assert.match(r.stdout, /^\s+agent\s+run the sigil agent/m);
  });

  for (const sub of ['server', 'agent']) {
    it(`${sub} --help describes the ${sub}`, () => {
      const r = sigil(sub, '--help');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: sigil ${sub} `, 'm'));
    });
  }

  it('--version prints the package version', () => {
    const r = sigil('--version');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+/);
  });

  it('an unknown command fails, names it, and points at --help', () => {
    const r = sigil('frobnicate');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    assert.match(r.stderr, /--help/);
  });

  it('an agent command never loads the server modules (and the reverse)', () => {
    // A module-loader hook reports every dist/server/ or dist/agent/ module the process loads.
    const dir = mkdtempSync(join(tmpdir(), 'sigil-cli-'));
    try {
      const hook = join(dir, 'hook.mjs');
      writeFileSync(
        hook,
        "export async function load(url, context, next) {\n" +
          "  const m = /\\/dist\\/(server|agent)\\//.exec(url);\n" +
          "  if (m) process.stderr.write(`LOADED ${m[1]}\\n`);\n" +
          '  return next(url, context);\n}\n',
      );
      const register = `data:text/javascript,import{register}from"node:module";register(${JSON.stringify(pathToFileURL(hook).href)})`;
      const loaded = (...args: string[]): Set<string> => {
        const r = spawnSync(process.execPath, ['--import', register, SIGIL, ...args], { encoding: 'utf8' });
        assert.equal(r.status, 0, r.stderr);
        return new Set([...r.stderr.matchAll(/^LOADED (\w+)$/gm)].map((m) => m[1] ?? ''));
      };
      assert.deepEqual([...loaded('agent', 'run', '--help')], ['agent']);
      assert.deepEqual([...loaded('server', 'run', '--help')], ['server']);
      assert.deepEqual([...loaded('--help')].sort(), ['agent', 'server']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
