import type { Command } from 'commander';
import type { EntryMsg } from '../../api/admin/messages.js';
import { adminCommand, withAdmin, type AdminOptions } from '../admin-client.js';
import { action, CliError, withExamples, write, writeJson } from '../output.js';
import { readEntriesFile } from './data-file.js';
import { addEntryFieldOptions, entryFromFlags, type EntryFlags } from './fields.js';
import { entriesText, entryJson } from './print.js';

type CreateFlags = EntryFlags & AdminOptions & { id?: string; data?: string };

const FIELD_FLAGS = ['spiffeId', 'parentId', 'node', 'selector', 'x509Ttl', 'jwtTtl', 'dns', 'federatesWith', 'admin', 'downstream', 'expiresAt', 'hint', 'id'] as const;

function entriesToCreate(f: CreateFlags): Partial<EntryMsg>[] {
  if (f.data !== undefined) {
    const given = FIELD_FLAGS.filter((k) => f[k] !== undefined);
    if (given.length > 0) throw new CliError('--data takes every field from the file: leave out the entry field flags');
    return readEntriesFile(f.data);
  }
  if (f.node && f.parentId !== undefined) {
    throw new CliError('--node and --parent-id both set the parent', '--node makes the server (spiffe://TD/sigil/server) the parent; give one or the other.');
  }
  const { entry } = entryFromFlags(f);
  if (f.id !== undefined) entry.id = f.id;
  return [entry];
}

/** `sigil server entry create`: one entry from flags, or a batch from --data; all or nothing. */
export function createCommand(): Command {
  const cmd = addEntryFieldOptions(adminCommand('create').description('create registration entries (a --data batch is created all or nothing)'))
    .option('--node', 'a node-alias entry: the parent is the server, spiffe://TD/sigil/server, and agents whose node selectors include --selector belong to it')
    .option('--id <id>', "the entry's ID (default: a random UUIDv4)")
    .option('--data <file>', 'create every entry of a JSON file, spire-server\'s -data format {"entries":[…]}; - reads standard input');
  withExamples(
    cmd,
    'sigil server entry create --parent-id spiffe://example.org/sigil/agent/join_token/0b1c… --spiffe-id spiffe://example.org/web --selector unix:uid:1000',
    'sigil server entry create --node --spiffe-id spiffe://example.org/racks/a --selector tpm:pcr-hash:ab12…',
    'sigil server entry create --parent-id spiffe://example.org/racks/a --spiffe-id spiffe://example.org/db --selector k8s:ns:db --x509-ttl 1h --dns db.example.org',
    'sigil server entry create --data entries.json',
  );
  return cmd.action(
    action(async (f: CreateFlags) => {
      const entries = entriesToCreate(f);
      const res = await withAdmin(f, (c) => c.call<{ entries: EntryMsg[] }>('EntryService', 'CreateEntries', { entries }));
      if (f.output === 'json') {
        writeJson({ results: res.entries.map((e) => ({ status: { code: 0, message: 'OK' }, entry: entryJson(e) })) });
      } else {
        write(entriesText(res.entries));
      }
    }),
  );
}
