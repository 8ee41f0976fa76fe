/**
 * How admin commands print: spire-server's text habits (aligned `Label : value` blocks, `Found N
 * entries`) or JSON with SPIRE's field names, and failures as `Error: <message>` plus what to do,
 * exit code 1.
 */
import { Command, CommanderError, Option } from 'commander';
import { messageOf } from '../../spiffe/errors.js';

export type OutputFormat = 'text' | 'json';

/** A failure the operator can act on: the message says what went wrong, the hint what to try. */
export class CliError extends Error {
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = 'CliError';
    this.hint = hint;
  }
}

export const outputOption = (): Option =>
  new Option('--output <format>', 'output format').choices(['text', 'json']).default('text');

export function write(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * `Label : value` lines with the colons aligned; a row per value for lists, none for an empty one
 * or undefined. Omitted rows still count for the width, so every block of one kind lines up alike.
 */
export function block(rows: readonly (readonly [string, string | readonly string[] | undefined])[]): string {
  const lines: [string, string][] = [];
  for (const [label, value] of rows) {
    if (value === undefined) continue;
    if (typeof value === 'string') lines.push([label, value]);
    else for (const v of value) lines.push([label, v]);
  }
  const width = Math.max(0, ...rows.map(([l]) => l.length));
  return lines.map(([l, v]) => `${l.padEnd(width)} : ${v}`).join('\n');
}

/** Unix seconds as RFC 3339 UTC, the form `--expires-at` also accepts. */
export function formatTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}

export const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/**
 * Wraps an action so that every failure prints as `Error: …` (and a hint) on stderr and ends the
 * command with exit code 1, through Commander so that main() returns the code.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof CommanderError) throw err;
      const hint = err instanceof CliError ? err.hint : undefined;
      process.stderr.write(`Error: ${messageOf(err)}\n${hint ? `${hint}\n` : ''}`);
      throw new CommanderError(1, 'sigil.failed', messageOf(err));
    }
  };
}

/** Examples at the end of --help, as `$ sigil …` lines. */
export function withExamples(cmd: Command, ...examples: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

/** Collects a repeatable option's values. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];
