import { Command } from 'commander';
import { banCommand } from './ban.js';
import { evictCommand } from './evict.js';
import { listCommand } from './list.js';
import { showCommand } from './show.js';

/** `sigil server agent …`: attested agents. */
export function agentCommand(): Command {
  return new Command('agent')
    .description('list, show, ban and evict attested agents')
    .addCommand(listCommand())
    .addCommand(showCommand())
    .addCommand(banCommand())
    .addCommand(evictCommand());
}
