import type { Command } from 'commander';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, plural, withExamples, write, writeJson } from '../output.js';
import { addFilterOptions, filterFromFlags, type FilterFlags } from './filter.js';

/** `sigil server entry count [filters]`. */
export function countCommand(): Command {
  const cmd = addFilterOptions(adminCommand('count').description('count registration entries, optionally filtered'));
  withExamples(cmd, 'sigil server entry count', 'sigil server entry count --parent-id spiffe://example.org/sigil/server');
  return cmd.action(
    action(async (f: FilterFlags & AdminOptions) => {
      const filter = filterFromFlags(f);
      const { count } = await withAdmin(f, (c) => c.call<{ count: number }>('EntryService', 'CountEntries', { filter }));
      if (f.output === 'json') writeJson({ count });
      else write(plural(count, 'registration entry', 'registration entries'));
    }),
  );
}
