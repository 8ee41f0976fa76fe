import type { Command } from 'commander';
import type { AgentMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { agentJson } from './print.js';

/** `sigil server agent evict --spiffe-id`: forgets the agent; it may attest again. */
export function evictCommand(): Command {
  const cmd = adminCommand('evict')
    .description("evict an agent: delete its record (and lift a ban); it may attest again")
    .requiredOption('--spiffe-id <id>', "the agent's SPIFFE ID");
  withExamples(cmd, 'sigil server agent evict --spiffe-id spiffe://example.org/sigil/agent/tpm/3f9a…');
  return cmd.action(
    action(async (f: AdminOptions & { spiffeId: string }) => {
      const agent = await withAdmin(f, (c) => c.call<AgentMsg>('AgentService', 'EvictAgent', { spiffe_id: f.spiffeId }));
      if (f.output === 'json') writeJson(agentJson(agent));
      else write('Agent evicted successfully');
    }),
  );
}
