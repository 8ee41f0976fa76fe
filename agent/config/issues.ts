/**
 * zod's issues as config problems: `<key path or flag>: <what is wrong>`, unknown keys first (a
 * misspelt key usually explains the rest) with a "did you mean" when one key is close.
 */
import type { z } from 'zod';
import { knownKeys } from './schema.js';

export type KeyPath = readonly PropertyKey[];

/** `workloadAttestors.unix.workloadSizeLimit`. */
export function keyName(path: KeyPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  object: 'a mapping of keys to values',
  string: 'a string',
  boolean: 'true or false',
  number: 'a number',
};

function describe(value: unknown): string {
  if (value === null) return 'no value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

export function problemsOf(error: z.ZodError, input: unknown, label: (path: KeyPath) => string): string[] {
  const unknown: string[] = [];
  const other: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const objectPath = keyName(issue.path.filter((p) => typeof p === 'string'));
      for (const key of issue.keys) {
        const hint = suggestKey(key, knownKeys(objectPath));
        unknown.push(`${label([...issue.path, key])}: unknown key${hint === undefined ? '' : ` (did you mean ${hint}?)`}`);
      }
      continue;
    }
    other.push(`${label(issue.path)}: ${explain(issue, valueAt(input, issue.path))}`);
  }
  return [...unknown, ...other];
}

function explain(issue: z.core.$ZodIssue, value: unknown): string {
  if (issue.code === 'invalid_type' || issue.code === 'invalid_union') {
    if (value === undefined) return 'is required';
    const expected = issue.code === 'invalid_type' ? (TYPE_NAMES[issue.expected] ?? issue.expected) : 'a different kind of value';
    return `must be ${expected}, not ${describe(value)}`;
  }
  // values.ts words every other failure in full.
  return issue.message;
}

/** Levenshtein distance ignoring case. */
function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) cur.push(Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (s[i - 1] === t[j - 1] ? 0 : 1)));
    prev = cur;
  }
  return prev[t.length]!;
}

/**
 * The nearest known key when at most a third of its letters are wrong; SPIRE's snake_case
 * (`server_address`) is compared as camelCase.
 */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  const camel = key.replace(/[_-]([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  const limit = Math.max(1, Math.floor(camel.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(camel, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
