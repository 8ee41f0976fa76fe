import { Command } from 'commander';

/** `sigil server …`: the trust domain's CA and registration API, like spire-server. */
export function serverCommand(): Command {
  return new Command('server')
    .description('run and administer the sigil server (CA, registration entries, node attestation)')
    .addHelpText(
      'after',
      '\nThe server signs SVIDs for the trust domain and serves agents; operators drive it over\n' +
        'its admin socket.',
    );
}
