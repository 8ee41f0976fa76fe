/**
 * The import rules of the architecture (scripts/check-imports.mjs) hold on the real tree, and the
 * checker really catches each kind of violation on a small tree made for the purpose.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from '../../support/shared.js';

const CHECKER = join(REPO_ROOT, 'scripts', 'check-imports.mjs');

function check(root: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [CHECKER, root], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

describe('architecture: import rules', () => {
  it('hold on the repository', () => {
    const r = check(REPO_ROOT);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
  });

  describe('the checker catches', () => {
    let dir: string;
    const write = (path: string, text: string): void => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'sigil-imports-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const cases: [string, Record<string, string>, RegExp][] = [
      ['spiffe/ importing server/', { 'spiffe/a.ts': "import { x } from '../server/b.js';", 'server/b.ts': 'export const x = 1;' }, /spiffe\/ must not import server\/b\.ts/],
      ['spiffe/ doing file I/O', { 'spiffe/a.ts': "import { readFileSync } from 'node:fs';" }, /must not import node:fs \(no I\/O\)/],
      ['spiffe/ reading the environment', { 'spiffe/a.ts': 'export const e = process.env.X;' }, /must not use process state/],
      ['agent/ importing server/', { 'agent/a.ts': "export * from '../server/b.js';", 'server/b.ts': 'export const x = 1;' }, /agent\/ must not import server\//],
      ['server/ importing agent/', { 'server/a.ts': "import '../agent/b.js';", 'agent/b.ts': 'export const x = 1;' }, /server\/ must not import agent\//],
      ['an attestor importing another attestor', { 'attestors/node/tpm/a.ts': "import { x } from '../join-token/b.js';", 'attestors/node/join-token/b.ts': 'export const x = 1;' }, /attestors depend only on spiffe\/ and their interface/],
      ['an import cycle', { 'server/a.ts': "import { b } from './b.js'; export const a = 1;", 'server/b.ts': "import { a } from './a.js'; export const b = a;" }, /import cycle: server\/a\.ts -> server\/b\.ts -> server\/a\.ts/],
      ['an unresolvable import', { 'cli/a.ts': "import { x } from './missing.js';" }, /cannot resolve \.\/missing\.js/],
    ];
    for (const [name, tree, expected] of cases) {
      it(name, () => {
        for (const [path, text] of Object.entries(tree)) write(path, text);
        const r = check(dir);
        assert.equal(r.status, 1);
        assert.match(r.stderr, expected);
      });
    }

    it('and accepts an attestor using spiffe/ and its kind interface', () => {
      write('spiffe/id.ts', 'export const id = 1;');
      write('attestors/node/node-attestor.ts', 'export interface NodeAttestor { name: string }');
      write('attestors/node/tpm/agent.ts', "import { id } from '../../../spiffe/id.js';\nimport type { NodeAttestor } from '../node-attestor.js';\nimport { q } from './quote.js';\nexport const a: NodeAttestor = { name: String(id + q) };");
      write('attestors/node/tpm/quote.ts', 'export const q = 2;');
      const r = check(dir);
      assert.equal(r.stderr, '');
      assert.equal(r.status, 0);
    });
  });
});
