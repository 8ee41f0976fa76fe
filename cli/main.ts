/**
 * The `sigil` command table. Each noun lives with its half of the system (server/cli, agent/cli);
 * this file only puts them side by side, the way spire-server's cli.go is just its table.
 */
import { Command, CommanderError } from 'commander';
import { agentCommand } from '../agent/cli/index.js';
import { serverCommand } from '../server/cli/index.js';
import { VERSION } from './version.js';

export function program(): Command {
  return new Command('sigil')
    .description('SPIFFE workload identity: the trust domain server and the node agent')
    .version(VERSION, '-v, --version', 'print the sigil version')
    .showHelpAfterError('(run with --help for usage)')
    .addCommand(serverCommand())
    .addCommand(agentCommand());
}

/** Runs the CLI and resolves to the process exit code (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  const cmd = program();
  exitOverrideAll(cmd);
  try {
    await cmd.parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander has already printed help or the usage error; only its exit code is left to pass on.
    if (err instanceof CommanderError) return err.exitCode;
    throw err;
  }
}

function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) exitOverrideAll(sub);
}
