import type { Command } from 'commander';
import type { EntryMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, CliError, withExamples, write, writeJson } from '../output.js';
import { addEntryFieldOptions, entryFromFlags, type EntryFlags } from './fields.js';
import { entryJson, entryText } from './print.js';

/** `sigil server entry update --id … [fields]`: changes only the fields given; the revision goes up. */
export function updateCommand(): Command {
  const cmd = addEntryFieldOptions(adminCommand('update').description('change fields of a registration entry (others keep their value)'))
    .requiredOption('--id <id>', "the entry's ID")
    .option('--clear-dns', 'remove every DNS name')
    .option('--clear-federates-with', 'remove every federated trust domain');
  withExamples(
    cmd,
    'sigil server entry update --id web --x509-ttl 30m',
    'sigil server entry update --id web --selector unix:uid:1000 --selector unix:gid:1000',
    'sigil server entry update --id web --admin false --expires-at never',
  );
  return cmd.action(
    action(async (f: EntryFlags & AdminOptions & { id: string }) => {
      if (f.clearDns && f.dns) throw new CliError('--clear-dns and --dns contradict each other: give one');
      if (f.clearFederatesWith && f.federatesWith) throw new CliError('--clear-federates-with and --federates-with contradict each other: give one');
      const { entry, mask } = entryFromFlags(f);
      if (Object.keys(mask).length === 0) {
        throw new CliError('nothing to update', 'Give the fields to change, e.g. --x509-ttl 1h; `sigil server entry update --help` lists them.');
      }
      const updated = await withAdmin(f, (c) => c.call<EntryMsg>('EntryService', 'UpdateEntry', { id: f.id, entry, mask }));
      if (f.output === 'json') writeJson({ results: [{ status: { code: 0, message: 'OK' }, entry: entryJson(updated) }] });
      else write(entryText(updated));
    }),
  );
}
