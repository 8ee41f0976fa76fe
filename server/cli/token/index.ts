import { Command } from 'commander';
import { generateCommand } from './generate.js';

/** `sigil server token …`: join tokens. */
export function tokenCommand(): Command {
  return new Command('token').description('generate join tokens for agent attestation').addCommand(generateCommand());
}
