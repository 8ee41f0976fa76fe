/**
 * How the agent's client commands print: spire-agent's text (`Received 1 svid after 3.1ms`, tab-
 * aligned `Label:\tvalue` lines) or JSON, and failures as `Error: <message>` plus what to try, exit
 * code 1. (The server's CLI has the same habits in server/cli/output.ts, which agent/ may not import.)
 */
import { CommanderError, Option } from 'commander';
import { messageOf } from '../../../spiffe/errors.js';

export type OutputFormat = 'text' | 'json';

/** A failure the user can act on: the message says what went wrong, the hint what to try. */
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

export function writeJson(value: unknown, { compact = false } = {}): void {
  process.stdout.write(`${compact ? JSON.stringify(value) : JSON.stringify(value, null, 2)}\n`);
}

/** `Label:<tabs>value` lines as spire-agent prints them: values start at the third tab stop. */
export function labelled(rows: readonly (readonly [string, string])[]): string {
  return rows.map(([label, value]) => `${label}:${'\t'.repeat(Math.max(1, 3 - Math.floor((label.length + 1) / 8)))}${value}`).join('\n');
}

export const plural = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** Milliseconds as spire-agent prints a duration: `8.132ms`. */
export const elapsed = (ms: number): string => `${ms.toFixed(3)}ms`;

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
