import type { Command } from 'commander';
import type { ListAuthoritiesMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { authoritiesJson, authoritiesText } from './print.js';

/** `sigil server ca show`: this server's X.509 CAs and JWT keys, and when they rotate next. */
export function showCommand(): Command {
  const cmd = adminCommand('show').description(
    "list this server's X.509 CAs and JWT signing keys (active, prepared, old) with their key locations and times, " +
      'and when the next prepare and activation are due',
  );
  cmd.addHelpText(
    'after',
    '\nOther servers sharing the database have their own authorities; `sigil server bundle show` lists\n' +
      'everything the trust domain trusts.',
  );
  withExamples(cmd, 'sigil server ca show', 'sigil server ca show --output json | jq -r \'.x509.authorities[] | select(.status == "active") | .authority_id\'');
  return cmd.action(
    action(async (f: AdminOptions) => {
      const r = await withAdmin(f, (c) => c.call<ListAuthoritiesMsg>('CaService', 'ListAuthorities', {}));
      if (f.output === 'json') writeJson(authoritiesJson(r));
      else write(authoritiesText(r));
    }),
  );
}
