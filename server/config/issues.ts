/**
 * zod's issues as config problems: `<key>: <what is wrong>`, with the full key path
 * (`ca.keyManager.type`, `serverDnsNames[2]`) or the flag that gave the value.
 */
import type { z } from 'zod';
import { knownKeys } from './schema.js';
import { suggestKey } from './suggest.js';

export type KeyPath = readonly PropertyKey[];

/** `ca.keyType`, `serverDnsNames[0]`. */
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
  array: 'a list',
  string: 'a string',
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

/**
 * One problem per issue; unknown keys first, since a misspelt key usually explains the other
 * problems (the value it was meant to set is missing). `label` names a key path for the reader.
 */
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
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return `must be ${TYPE_NAMES[issue.expected] ?? issue.expected}, not ${describe(value)}`;
    case 'invalid_value':
      return `${JSON.stringify(value)} is not one of ${issue.values.map(String).join(', ')}`;
    default:
      // Our own schemas (values.ts) word every other failure in full.
      return issue.message;
  }
}
