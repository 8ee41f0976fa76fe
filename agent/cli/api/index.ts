/**
 * `sigil agent api …`: a workload's view of the agent, mirroring `spire-agent api`. Every command
 * talks to the Workload API exactly as a workload does, so what it prints is what this process
 * (its user, its binary) is entitled to.
 */
import { Command } from 'commander';
import { fetchJwtCommand, validateJwtCommand } from './jwt.js';
import { fetchX509Command, watchCommand } from './x509.js';

export function apiCommand(): Command {
  const fetch = new Command('fetch')
    .description('fetch SVIDs from the Workload API (x509 unless told otherwise)')
    .addCommand(fetchX509Command(), { isDefault: true })
    .addCommand(fetchJwtCommand());
  const validate = new Command('validate').description('validate an SVID through the Workload API').addCommand(validateJwtCommand());
  return new Command('api')
    .description("use the agent's Workload API as this process (fetch, validate, watch)")
    .addCommand(fetch)
    .addCommand(validate)
    .addCommand(watchCommand())
    .addHelpText(
      'after',
      '\nThe socket is --socket-path, else $SPIFFE_ENDPOINT_SOCKET, else /tmp/sigil-agent/public/api.sock.\n' +
        'Examples:\n' +
        '  $ sigil agent api fetch x509 --write /tmp/svids\n' +
        '  $ sigil agent api fetch jwt --audience spiffe://example.org/db\n' +
        '  $ sigil agent api validate jwt --audience db --svid eyJ...\n' +
        '  $ sigil agent api watch',
    );
}
