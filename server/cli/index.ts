import { Command } from 'commander';
import { runCommand } from './run.js';
import { agentCommand } from './agent/index.js';
import { bundleCommand } from './bundle/index.js';
import { caCommand } from './ca/index.js';
import { entryCommand } from './entry/index.js';
import { healthcheckCommand } from './healthcheck/index.js';
import { tokenCommand } from './token/index.js';

/** `sigil server …`: the trust domain's CA and registration API, like spire-server. */
export function serverCommand(): Command {
  return new Command('server')
    .description('run and administer the sigil server (CA, registration entries, node attestation)')
    .addHelpText(
      'after',
      '\nThe server signs SVIDs for the trust domain and serves agents; operators drive it over\n' +
        'its admin socket.',
    )
    .addCommand(entryCommand())
    .addCommand(tokenCommand())
    .addCommand(agentCommand())
    .addCommand(bundleCommand())
    .addCommand(caCommand())
    .addCommand(healthcheckCommand())
    .addCommand(runCommand());
}
