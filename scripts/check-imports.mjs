#!/usr/bin/env node
// The architecture's import rules, checked on the TypeScript sources (no build needed):
//   spiffe/     imports only spiffe/ and packages, and no I/O builtins (it is the pure standards library)
//   agent/      never imports server/, and server/ never imports agent/
//   attestors/  import only spiffe/, attestors/<kind>/*.ts (their interface) and their own folder
//   no import cycles anywhere.
// Usage: node scripts/check-imports.mjs [ROOT]   (exit 1 and one line per violation on failure)
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative, resolve, dirname, sep } from 'node:path';

const root = resolve(process.argv[2] ?? '.');
const SOURCE_DIRS = ['spiffe', 'proto', 'server', 'agent', 'attestors', 'cli', 'bench', 'test'];
const IO_BUILTINS = new Set([
  'fs', 'fs/promises', 'net', 'tls', 'http', 'https', 'http2', 'dgram', 'child_process', 'os',
  'process', 'worker_threads', 'cluster', 'dns', 'readline', 'v8', 'vm',
]);

function walk(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|mts|cts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|[\s;])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function specifiers(text) {
  const clean = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  return [...clean.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function resolveLocal(fromFile, spec) {
  const base = resolve(dirname(fromFile), spec);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => existsSync(c) && statSync(c).isFile());
}

const files = SOURCE_DIRS.flatMap((d) => walk(join(root, d), []));
const graph = new Map();
const problems = [];
const rel = (p) => relative(root, p).split(sep).join('/');

for (const file of files) {
  const from = rel(file);
  const top = from.split('/')[0];
  const text = readFileSync(file, 'utf8');
  const edges = [];
  if (top === 'spiffe' && /\bprocess\.(env|argv|cwd|exit|pid)\b/.test(text.replace(/^\s*(\/\/|\*).*$/gm, ''))) {
    problems.push(`${from}: spiffe/ must not use process state`);
  }
  for (const spec of specifiers(text)) {
    if (!spec.startsWith('.')) {
      const builtin = spec.replace(/^node:/, '');
      if (top === 'spiffe' && IO_BUILTINS.has(builtin)) problems.push(`${from}: spiffe/ must not import ${spec} (no I/O)`);
      continue;
    }
    const target = resolveLocal(file, spec);
    if (!target) {
      problems.push(`${from}: cannot resolve ${spec}`);
      continue;
    }
    const to = rel(target);
    edges.push(to);
    const toTop = to.split('/')[0];
    if (top === 'spiffe' && toTop !== 'spiffe') problems.push(`${from}: spiffe/ must not import ${to}`);
    if (top === 'agent' && toTop === 'server') problems.push(`${from}: agent/ must not import server/ (${to})`);
    if (top === 'server' && toTop === 'agent') problems.push(`${from}: server/ must not import agent/ (${to})`);
    if (top === 'attestors') {
      const [, kind, impl] = from.split('/');
      const parts = to.split('/');
      const ok =
        toTop === 'spiffe' ||
        (parts[0] === 'attestors' && parts[1] === kind && parts.length === 3) || // the kind's interface
        (parts[0] === 'attestors' && parts[1] === kind && parts[2] === impl); // own folder
      if (!ok) problems.push(`${from}: attestors depend only on spiffe/ and their interface, not ${to}`);
    }
  }
  graph.set(from, edges);
}

// Cycle detection: iterative DFS with colours; report each cycle once by its smallest rotation.
const colour = new Map();
const seen = new Set();
for (const start of graph.keys()) {
  if (colour.get(start)) continue;
  const stack = [[start, 0]];
  const path = [start];
  colour.set(start, 1);
  while (stack.length) {
    const frame = stack[stack.length - 1];
    const [node, i] = frame;
    const edges = graph.get(node) ?? [];
    if (i >= edges.length) {
      colour.set(node, 2);
      stack.pop();
      path.pop();
      continue;
    }
    frame[1]++;
    const next = edges[i];
    const c = colour.get(next);
    if (c === 1) {
      const cycle = path.slice(path.indexOf(next));
      const minAt = cycle.indexOf([...cycle].sort()[0]);
      const key = [...cycle.slice(minAt), ...cycle.slice(0, minAt)].join(' -> ');
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`import cycle: ${key} -> ${cycle[minAt]}`);
      }
    } else if (!c) {
      colour.set(next, 1);
      stack.push([next, 0]);
      path.push(next);
    }
  }
}

if (problems.length) {
  for (const p of problems) process.stderr.write(`check-imports: ${p}\n`);
  process.exit(1);
}
