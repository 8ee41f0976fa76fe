import { Command } from 'commander';
import { showCommand } from './show.js';

/** `sigil server bundle …`: the trust domain's bundle. */
export function bundleCommand(): Command {
  return new Command('bundle').description("show the trust domain's bundle").addCommand(showCommand());
}
