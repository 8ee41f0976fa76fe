import { SigilError, Status } from '../../spiffe/errors.js';

export const ConfigErrorCode = {
  /** A config file, flag or combination of them the server cannot start with. */
  invalid: 'SIGIL_CONFIG_INVALID',
  /** The config file cannot be read or is not YAML. */
  unreadable: 'SIGIL_CONFIG_UNREADABLE',
} as const;

export type ConfigErrorCode = (typeof ConfigErrorCode)[keyof typeof ConfigErrorCode];

/**
 * Every problem found in one load, not just the first: an operator fixing a config file should not
 * have to restart once per typo. Each problem is one line `config: <key or flag>: <what is wrong>`,
 * and `message` is those lines joined.
 */
export class ConfigError extends SigilError {
  readonly problems: readonly string[];

  constructor(code: ConfigErrorCode, problems: readonly string[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `config: ${p}`);
    super(code, lines.join('\n'), { status: Status.INVALID_ARGUMENT, cause: options.cause });
    this.problems = lines;
  }
}
