import type { Command } from 'commander';
import type { AgentMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { agentJson, agentText } from './print.js';

/** `sigil server agent show --spiffe-id`. */
export function showCommand(): Command {
  const cmd = adminCommand('show').description('show one attested agent').requiredOption('--spiffe-id <id>', "the agent's SPIFFE ID");
  withExamples(cmd, 'sigil server agent show --spiffe-id spiffe://example.org/sigil/agent/tpm/3f9a…');
  return cmd.action(
    action(async (f: AdminOptions & { spiffeId: string }) => {
      const agent = await withAdmin(f, (c) => c.call<AgentMsg>('AgentService', 'GetAgent', { spiffe_id: f.spiffeId }));
      if (f.output === 'json') writeJson(agentJson(agent));
      else write(`Found an attested agent given its SPIFFE ID\n\n${agentText(agent)}`);
    }),
  );
}
