import { Command } from 'commander';
import { countCommand } from './count.js';
import { createCommand } from './create.js';
import { deleteCommand } from './delete.js';
import { listCommand } from './list.js';
import { showCommand } from './show.js';
import { updateCommand } from './update.js';

/** `sigil server entry …`: the table of entry subcommands, one file each. */
export function entryCommand(): Command {
  return new Command('entry')
    .description('create, show, list, update and delete registration entries')
    .addCommand(createCommand())
    .addCommand(showCommand())
    .addCommand(listCommand())
    .addCommand(countCommand())
    .addCommand(updateCommand())
    .addCommand(deleteCommand());
}
