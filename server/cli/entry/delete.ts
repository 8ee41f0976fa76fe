import type { Command } from 'commander';
import type { EntryMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, collect, withExamples, write, writeJson } from '../output.js';

/** `sigil server entry delete --id … [--id …]`: all or none. */
export function deleteCommand(): Command {
  const cmd = adminCommand('delete')
    .description('delete registration entries (all of them, or none if one does not exist)')
    .requiredOption('--id <id>', "an entry's ID (repeatable)", collect);
  withExamples(cmd, 'sigil server entry delete --id web', 'sigil server entry delete --id web --id db');
  return cmd.action(
    action(async (f: AdminOptions & { id: string[] }) => {
      const res = await withAdmin(f, (c) => c.call<{ entries: EntryMsg[] }>('EntryService', 'DeleteEntries', { ids: f.id }));
      if (f.output === 'json') writeJson({ results: res.entries.map((e) => ({ status: { code: 0, message: 'OK' }, id: e.id })) });
      else write(res.entries.map((e) => `Deleted entry with ID: ${e.id}`).join('\n'));
    }),
  );
}
