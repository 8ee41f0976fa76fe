/**
 * `sigil agent healthcheck`: asks the agent's grpc.health.v1 service on the Workload API socket.
 * Exit code 0 when the agent is ready to serve workloads (--shallow: when it is alive at all), 1
 * otherwise, including when it cannot be reached, so it works as a container health probe.
 */
import { Command } from 'commander';
import { LIVENESS_SERVICE } from '../workloadapi/index.js';
import { socketPathOption, timeoutMs, timeoutOption, WorkloadClient } from './api/client.js';
import { action, CliError, outputOption, write, writeJson, type OutputFormat } from './api/output.js';

export function healthcheckCommand(): Command {
  return new Command('healthcheck')
    .description('check that the agent is up and ready (exit code 0) or not (1)')
    .option('--shallow', 'only check that the agent is alive, not that it is attested and synced')
    .option('--verbose', 'say what was checked, and why it failed')
    .addOption(socketPathOption())
    .addOption(timeoutOption('5'))
    .addOption(outputOption())
    .action(
      action(async (o: { shallow?: boolean; verbose?: boolean; socketPath?: string; timeout: string; output: OutputFormat }) => {
        const client = new WorkloadClient(o);
        try {
          if (o.verbose === true && o.output !== 'json') write(`Checking the agent on ${client.endpoint}...`);
          const { status, detail } = await client.healthCheck(o.shallow === true ? LIVENESS_SERVICE : '', timeoutMs(o));
          const healthy = status === 'SERVING';
          if (o.output === 'json') writeJson({ healthy, status, detail });
          if (!healthy) throw new CliError(`agent is unhealthy${detail !== '' ? `: ${detail}` : ''}`, "The agent's log says more.");
          if (o.output !== 'json') write(o.verbose === true && detail !== '' ? `Agent is healthy (${detail}).` : 'Agent is healthy.');
        } finally {
          client.close();
        }
      }),
    );
}
