import type { Command } from 'commander';
import type { CheckResponseMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, CliError, withExamples, write, writeJson } from '../output.js';

const HEALTH_TIMEOUT_MS = 10_000;

/** `sigil server healthcheck [--shallow] [--verbose]`: exit code 0 when the server is ready, 1 otherwise. */
export function healthcheckCommand(): Command {
  const cmd = adminCommand('healthcheck')
    .description('check that the server is up and ready (exit code 0) or not (1)')
    .option('--shallow', 'only check that the server answers, not its datastore and CA')
    .option('--verbose', 'print every check');
  withExamples(cmd, 'sigil server healthcheck', 'sigil server healthcheck --shallow --admin-socket /run/sigil/admin.sock');
  return cmd.action(
    action(async (f: AdminOptions & { shallow?: boolean; verbose?: boolean }) => {
      const res = await withAdmin(f, (c) =>
        c.call<CheckResponseMsg>('HealthService', 'Check', { shallow: f.shallow === true }, HEALTH_TIMEOUT_MS),
      );
      const failing = Object.entries(res.checks).filter(([, c]) => !c.ok);
      if (f.output === 'json') writeJson({ ready: res.ready, checks: res.checks });
      else if (f.verbose) {
        for (const [name, c] of Object.entries(res.checks)) write(`${c.ok ? 'ok  ' : 'FAIL'} ${name}${c.detail ? `: ${c.detail}` : ''}`);
      }
      if (!res.ready) {
        const why = failing.map(([name, c]) => `${name}${c.detail ? `: ${c.detail}` : ''}`).join('; ');
        throw new CliError(`server is unhealthy${why ? `: ${why}` : ''}`, "The server's log says more.");
      }
      if (f.output !== 'json') write('Server is healthy.');
    }),
  );
}
