/**
 * `npm run bench`: runs every compiled bench/**\/*.bench.js in its own process (so one case's heap
 * and JIT state do not colour another's), or only those whose path contains an argument.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

function find(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return find(p);
    return name.endsWith('.bench.js') ? [p] : [];
  });
}

const filters = process.argv.slice(2);
const cases = find(here)
  .filter((p) => filters.length === 0 || filters.some((f) => p.includes(f)))
  .sort();
let failed = 0;
for (const [n, file] of cases.entries()) {
  process.stdout.write(`[${n + 1}/${cases.length}] ${relative(here, file)}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
if (failed) {
  process.stderr.write(`bench: ${failed} of ${cases.length} benchmarks failed\n`);
  process.exit(1);
}
