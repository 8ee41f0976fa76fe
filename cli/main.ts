/**
 * The `sigil` command table. Each noun lives with its half of the system (server/cli, agent/cli);
 * this file only puts them side by side, the way spire-server's cli.go is just its table.
 *
 * Each half is imported only when the command line can need it: an agent (a DaemonSet on every
 * node) then never loads the server's modules — datastore drivers, CA, admin API — which cost it
 * ~17 MB of resident memory for nothing.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from './version.js';

type Half = 'server' | 'agent';

/** The halves `argv` can reach: the one named first, or both for top-level help and errors. */
function halvesFor(argv: readonly string[]): Half[] {
  const first = argv.slice(2).find((a) => !a.startsWith('-'));
  return first === 'server' || first === 'agent' ? [first] : ['server', 'agent'];
}

export async function program(argv: readonly string[] = []): Promise<Command> {
  const cmd = new Command('sigil')
    .description('SPIFFE workload identity: the trust domain server and the node agent')
    .version(VERSION, '-v, --version', 'print the sigil version')
    .showHelpAfterError('(run with --help for usage)');
  for (const half of halvesFor(argv)) {
    if (half === 'server') cmd.addCommand((await import('../server/cli/index.js')).serverCommand());
    else cmd.addCommand((await import('../agent/cli/index.js')).agentCommand());
  }
  return cmd;
}

/** Runs the CLI and resolves to the process exit code (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  const cmd = await program(argv);
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
