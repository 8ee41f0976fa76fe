import { Option, type Command } from 'commander';
import type { ListAuthoritiesMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { authoritiesJson, authoritiesText } from './print.js';

interface RotateFlags extends AdminOptions {
  prepare?: boolean;
  activate?: boolean;
  only?: 'x509' | 'jwt';
}

/**
 * `sigil server ca rotate [--prepare | --activate] [--only x509|jwt]`: rotation now instead of on
 * schedule, for incident response (spire-server's `localauthority x509|jwt prepare|activate`).
 */
export function rotateCommand(): Command {
  const cmd = adminCommand('rotate')
    .description(
      "rotate this server's X.509 CA and JWT key now: prepare the next one (published in the bundle at once), " +
        'activate the prepared one, or both at once (no flag)',
    )
    .addOption(new Option('--prepare', 'only prepare the next authority (replacing one already prepared)').conflicts('activate'))
    .addOption(new Option('--activate', 'only activate the prepared authority (fails if none is prepared)'))
    .addOption(new Option('--only <kind>', 'rotate only the X.509 CA or only the JWT key').choices(['x509', 'jwt']));
  cmd.addHelpText(
    'after',
    '\nThe safe order is --prepare, then wait until agents and workloads have the new bundle (its\n' +
      'refresh hint; agents receive it within seconds), then --activate. With no flag both happen at\n' +
      'once: SVIDs from the new CA are refused by peers that have not received the new bundle yet.\n' +
      'The previous authority stays in the bundle until it expires, so the SVIDs it signed stay valid.',
  );
  withExamples(
    cmd,
    'sigil server ca rotate --prepare',
    'sigil server ca show   # until the agents have the new bundle',
    'sigil server ca rotate --activate',
    'sigil server ca rotate --only jwt     # a new JWT key, at once',
  );
  return cmd.action(
    action(async (f: RotateFlags) => {
      const request = {
        prepare: f.activate !== true,
        activate: f.prepare !== true,
        kinds: f.only === undefined ? [] : [f.only],
      };
      const r = await withAdmin(f, (c) => c.call<ListAuthoritiesMsg>('CaService', 'Rotate', request));
      if (f.output === 'json') {
        writeJson(authoritiesJson(r));
        return;
      }
      const what = f.only === 'x509' ? 'X.509 CA' : f.only === 'jwt' ? 'JWT key' : 'X.509 CA and JWT key';
      const done = request.prepare && request.activate ? 'prepared and activated' : request.prepare ? 'prepared' : 'activated';
      write(`${done[0]!.toUpperCase()}${done.slice(1)} the next ${what}.\n\n${authoritiesText(r)}`);
    }),
  );
}
