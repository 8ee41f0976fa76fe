/**
 * scripts/bootstrap (run by every quickstart) with a node_modules that is a symlink into another
 * checkout, as git worktrees share one: it must not npm ci there, which would empty the directory
 * every checkout sharing it depends on.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/shared.js';

describe('integration: scripts/bootstrap', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-boot-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A checkout holding only the script and a lock file, its node_modules a symlink to `shared`. */
  function checkout(shared: string): string {
    const root = join(dir, 'checkout');
    mkdirSync(join(root, 'scripts'), { recursive: true });
    copyFileSync(join(REPO_ROOT, 'scripts', 'bootstrap'), join(root, 'scripts', 'bootstrap'));
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion": 3}\n');
    symlinkSync(shared, join(root, 'node_modules'));
    return root;
  }

  it('leaves a symlinked node_modules alone (no npm ci into the shared directory)', () => {
    const shared = join(dir, 'shared', 'node_modules');
    mkdirSync(join(shared, '.bin'), { recursive: true });
    writeFileSync(join(shared, 'installed-by-its-owner'), '');
    // A stand-in tsc for the build step, so the run needs no real install.
    writeFileSync(join(shared, '.bin', 'tsc'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(shared, '.bin', 'tsc'), 0o755);
    const r = spawnSync('bash', [join(checkout(shared), 'scripts', 'bootstrap')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stderr, /npm ci/);
    assert.ok(existsSync(join(shared, 'installed-by-its-owner')), 'the shared node_modules was not emptied');
  });

  it('stops with a clear message when the symlinked node_modules has no tsc', () => {
    const shared = join(dir, 'shared', 'node_modules');
    mkdirSync(shared, { recursive: true });
    const r = spawnSync('bash', [join(checkout(shared), 'scripts', 'bootstrap')], { encoding: 'utf8' });
    assert.equal(r.status, 1, `${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /bootstrap: node_modules is a symlink to .*shared\/node_modules, which has no tsc: install there/);
  });
});
