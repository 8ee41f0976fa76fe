import type { Command } from 'commander';
import type { EntryMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, plural, withExamples, write, writeJson } from '../output.js';
import { addFilterOptions, filterFromFlags, type FilterFlags } from './filter.js';
import { entriesText, entryJson } from './print.js';

// Pages keep each response small however many entries match.
const PAGE_SIZE = 1000;

/** `sigil server entry list [filters]`: spire-server's `entry show` with filters. */
export function listCommand(): Command {
  const cmd = addFilterOptions(adminCommand('list').description('list registration entries, optionally filtered'));
  withExamples(
    cmd,
    'sigil server entry list',
    'sigil server entry list --parent-id spiffe://example.org/sigil/server',
    'sigil server entry list --selector unix:uid:1000 --match-selectors-on exact',
    'sigil server entry list --federates-with partner.org --output json',
  );
  return cmd.action(
    action(async (f: FilterFlags & AdminOptions) => {
      const filter = filterFromFlags(f);
      const entries = await withAdmin(f, async (c) => {
        const all: EntryMsg[] = [];
        let pageToken = '';
        do {
          const res = await c.call<{ entries: EntryMsg[]; next_page_token: string }>('EntryService', 'ListEntries', {
            filter,
            page_size: PAGE_SIZE,
            page_token: pageToken,
          });
          all.push(...res.entries);
          pageToken = res.next_page_token;
        } while (pageToken !== '');
        return all;
      });
      if (f.output === 'json') {
        writeJson({ entries: entries.map(entryJson) });
      } else {
        const found = `Found ${plural(entries.length, 'entry', 'entries')}`;
        write(entries.length === 0 ? found : `${found}\n${entriesText(entries)}`);
      }
    }),
  );
}
