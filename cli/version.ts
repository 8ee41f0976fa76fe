import { readFileSync } from 'node:fs';

// package.json sits two levels above dist/cli/version.js (and one above cli/version.ts in source).
function readVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sigil' && typeof pkg.version === 'string') return pkg.version;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return '0.0.0-unknown';
}

export const VERSION = readVersion();
