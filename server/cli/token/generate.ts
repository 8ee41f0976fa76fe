import type { Command } from 'commander';
import type { JoinTokenMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { parseSeconds } from '../entry/parse.js';
import { action, formatTime, withExamples, write, writeJson } from '../output.js';
import { entryJson } from '../entry/print.js';

/** `sigil server token generate [--spiffe-id] [--ttl]`: a single-use join token for one agent. */
export function generateCommand(): Command {
  const cmd = adminCommand('generate')
    .description('generate a single-use join token an agent attests with')
    .option('--spiffe-id <id>', 'also create an entry giving the agent that uses the token this SPIFFE ID')
    .option('--ttl <seconds>', 'how long the token can be used, in seconds or with a unit (10m)', '600');
  withExamples(
    cmd,
    'sigil server token generate',
    'sigil server token generate --ttl 1h --spiffe-id spiffe://example.org/nodes/build-7',
  );
  return cmd.action(
    action(async (f: AdminOptions & { spiffeId?: string; ttl: string }) => {
      const request = { ttl: parseSeconds(f.ttl, '--ttl'), agent_id: f.spiffeId ?? '' };
      const t = await withAdmin(f, (c) => c.call<JoinTokenMsg>('TokenService', 'CreateJoinToken', request));
      const expiresAt = Number(t.expires_at);
      if (f.output === 'json') {
        writeJson({
          value: t.value,
          expires_at: expiresAt,
          ttl: t.ttl,
          agent_id: t.agent_id,
          ...(t.alias_entry ? { alias_entry: entryJson(t.alias_entry) } : {}),
        });
        return;
      }
      // "Token: <value>" first and alone, as spire-server prints it, so scripts can keep using awk.
      const lines = [`Token: ${t.value}`, `Expires at: ${formatTime(expiresAt)} (TTL ${t.ttl} s)`, `Agent ID: ${t.agent_id}`];
      if (t.alias_entry) lines.push(`Alias entry: ${t.alias_entry.id} (${t.alias_entry.spiffe_id})`);
      write(lines.join('\n'));
    }),
  );
}
