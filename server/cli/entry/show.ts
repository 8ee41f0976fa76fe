import type { Command } from 'commander';
import type { EntryMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, withExamples, write, writeJson } from '../output.js';
import { entryJson, entryText } from './print.js';

/** `sigil server entry show --id`: one entry by its ID. */
export function showCommand(): Command {
  const cmd = adminCommand('show').description('show one registration entry').requiredOption('--id <id>', "the entry's ID");
  withExamples(cmd, 'sigil server entry show --id 5f0c1b8e-…', 'sigil server entry show --id web --output json');
  return cmd.action(
    action(async (f: AdminOptions & { id: string }) => {
      const entry = await withAdmin(f, (c) => c.call<EntryMsg>('EntryService', 'GetEntry', { id: f.id }));
      if (f.output === 'json') writeJson({ entries: [entryJson(entry)] });
      else write(`Found 1 entry\n${entryText(entry)}`);
    }),
  );
}
