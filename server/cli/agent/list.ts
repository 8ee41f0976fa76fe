import type { Command } from 'commander';
import type { AgentMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { parseBool } from '../entry/parse.js';
import { action, plural, withExamples, write, writeJson } from '../output.js';
import { agentJson, agentText } from './print.js';

const PAGE_SIZE = 1000;

/** `sigil server agent list [--attestation-type] [--banned true|false]`. */
export function listCommand(): Command {
  const cmd = adminCommand('list')
    .description('list attested agents')
    .option('--attestation-type <type>', 'only agents attested this way, e.g. join_token or tpm')
    .option('--banned <true|false>', 'only banned agents, or only agents that are not banned');
  withExamples(cmd, 'sigil server agent list', 'sigil server agent list --attestation-type tpm --banned false');
  return cmd.action(
    action(async (f: AdminOptions & { attestationType?: string; banned?: string }) => {
      const banned = parseBool(f.banned, '--banned');
      const agents = await withAdmin(f, async (c) => {
        const all: AgentMsg[] = [];
        let pageToken = '';
        do {
          const res = await c.call<{ agents: AgentMsg[]; next_page_token: string }>('AgentService', 'ListAgents', {
            ...(f.attestationType !== undefined ? { by_attestation_type: f.attestationType } : {}),
            ...(banned !== undefined ? { by_banned: banned } : {}),
            page_size: PAGE_SIZE,
            page_token: pageToken,
          });
          all.push(...res.agents);
          pageToken = res.next_page_token;
        } while (pageToken !== '');
        return all;
      });
      if (f.output === 'json') {
        writeJson({ agents: agents.map(agentJson) });
      } else {
        const found = `Found ${plural(agents.length, 'attested agent', 'attested agents')}`;
        write(agents.length === 0 ? found : `${found}:\n\n${agents.map(agentText).join('\n\n')}`);
      }
    }),
  );
}
