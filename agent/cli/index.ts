import { Command } from 'commander';
import { apiCommand } from './api/index.js';
import { healthcheckCommand } from './healthcheck.js';
import { runCommand } from './run.js';

/** `sigil agent …`: the node agent serving the Workload API and SDS, like spire-agent. */
export function agentCommand(): Command {
  return new Command('agent')
    .description('run the sigil agent (node attestation, Workload API and Envoy SDS on a Unix socket)')
    .addCommand(apiCommand())
    .addCommand(healthcheckCommand())
    .addCommand(runCommand())
    .addHelpText(
      'after',
      '\nThe agent attests its node to the server, attests each local caller from the kernel, and\n' +
        'serves SVIDs on SPIFFE_ENDPOINT_SOCKET.',
    );
}
