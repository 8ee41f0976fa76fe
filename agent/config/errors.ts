import { SigilError, Status } from '../../spiffe/errors.js';

export const AgentConfigErrorCode = {
  /** A config file, flag or combination of them the agent cannot start with. */
  invalid: 'SIGIL_AGENT_CONFIG_INVALID',
  /** The config file (or the trust bundle it names) cannot be read or parsed. */
  unreadable: 'SIGIL_AGENT_CONFIG_UNREADABLE',
} as const;

export type AgentConfigErrorCode = (typeof AgentConfigErrorCode)[keyof typeof AgentConfigErrorCode];

/**
 * Every problem found in one load, one line each (`config: <key or flag>: <what is wrong>`), so an
 * operator fixes a file in one pass, as with the server's config.
 */
export class AgentConfigError extends SigilError {
  readonly problems: readonly string[];

  constructor(code: AgentConfigErrorCode, problems: readonly string[], options: { cause?: unknown } = {}) {
    const lines = problems.map((p) => `config: ${p}`);
    super(code, lines.join('\n'), { status: Status.INVALID_ARGUMENT, cause: options.cause });
    this.problems = lines;
  }
}
