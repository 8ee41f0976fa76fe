import { Command } from 'commander';
import { rotateCommand } from './rotate.js';
import { showCommand } from './show.js';

/** `sigil server ca …`: this server's X.509 CA and JWT key, and their rotation. */
export function caCommand(): Command {
  return new Command('ca')
    .description("show this server's X.509 CA and JWT signing keys, and rotate them ahead of schedule")
    .addCommand(showCommand())
    .addCommand(rotateCommand());
}
