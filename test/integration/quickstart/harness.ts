/** Runs scripts/quickstart.mjs in a temp dir (SIGIL_QUICKSTART_DIR) and reads the pids it left. */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/shared.js';

export { alive } from '../../support/process.js';

const SCRIPT = join(REPO_ROOT, 'scripts', 'quickstart.mjs');

export function quickstart(dir: string, ...args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], {
    encoding: 'utf8',
    env: { ...process.env, SIGIL_QUICKSTART_DIR: dir },
    timeout: 120_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** The processes quickstart started, by name (server, agent, swtpm). */
export function pids(dir: string): Record<string, number> {
  const file = join(dir, 'pids.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>) : {};
}
