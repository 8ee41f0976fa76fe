import type { Command } from 'commander';
import type { AgentMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { agentJson } from './print.js';

/** `sigil server agent ban --spiffe-id`: the agent can neither renew nor attest again until evicted. */
export function banCommand(): Command {
  const cmd = adminCommand('ban')
    .description('ban an agent: its streams close and it cannot attest or renew until it is evicted')
    .requiredOption('--spiffe-id <id>', "the agent's SPIFFE ID");
  withExamples(cmd, 'sigil server agent ban --spiffe-id spiffe://example.org/sigil/agent/join_token/0b1c…');
  return cmd.action(
    action(async (f: AdminOptions & { spiffeId: string }) => {
      const agent = await withAdmin(f, (c) => c.call<AgentMsg>('AgentService', 'BanAgent', { spiffe_id: f.spiffeId }));
      if (f.output === 'json') writeJson(agentJson(agent));
      else write('Agent banned successfully');
    }),
  );
}
