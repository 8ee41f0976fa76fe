import { Command } from 'commander';

/** `sigil agent …`: the node agent serving the Workload API and SDS, like spire-agent. */
export function agentCommand(): Command {
  return new Command('agent')
    .description('run the sigil agent (node attestation, Workload API and Envoy SDS on a Unix socket)')
    .addHelpText(
      'after',
      '\nThe agent attests its node to the server, attests each local caller from the kernel, and\n' +
        'serves SVIDs on SPIFFE_ENDPOINT_SOCKET.',
    );
}
