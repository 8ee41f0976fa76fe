/**
 * Where the team's shared material lives: ../shared beside the repository (as CI lays it out), or
 * SIGIL_SHARED_DIR. Tests read conformance vectors and kubelet/cgroup samples from there.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is dist/test/support/shared.js once built). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const SHARED_DIR = process.env['SIGIL_SHARED_DIR'] ?? resolve(REPO_ROOT, '..', 'shared');

export function sharedPath(...parts: string[]): string {
  const p = join(SHARED_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`shared file ${p} is missing: clone the repository beside shared/ or set SIGIL_SHARED_DIR`);
  }
  return p;
}

export function readShared(...parts: string[]): Buffer {
  return readFileSync(sharedPath(...parts));
}

export function readSharedJson<T>(...parts: string[]): T {
  return JSON.parse(readShared(...parts).toString('utf8')) as T;
}
