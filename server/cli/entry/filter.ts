/** The filter flags `entry list` and `entry count` share, as spire-server's `entry show` has them. */
import { Command, Option } from 'commander';
import type { EntryFilterMsg, SelectorMatchMsg } from '../../api/admin/messages.js';
import { collect } from '../output.js';
import { parseBool, parseSelector } from './parse.js';

export interface FilterFlags {
  spiffeId?: string;
  parentId?: string;
  selector?: string[];
  matchSelectorsOn: 'exact' | 'subset' | 'superset' | 'any';
  federatesWith?: string;
  hint?: string;
  downstream?: string | boolean;
}

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--spiffe-id <id>', 'only entries with this SPIFFE ID')
    .option('--parent-id <id>', 'only entries with this parent ID')
    .option('--selector <type:value>', 'only entries matching these selectors (repeatable; see --match-selectors-on)', collect)
    .addOption(
      new Option('--match-selectors-on <mode>', 'how --selector matches: the entry has all of them and maybe more (superset), exactly them (exact), only some of them (subset), or any of them (any)')
        .choices(['exact', 'subset', 'superset', 'any'])
        .default('superset'),
    )
    .option('--federates-with <trust-domain>', 'only entries federating with this trust domain')
    .option('--hint <text>', 'only entries with this hint')
    .option('--downstream [true|false]', 'only downstream entries (or, with false, only the others)');
}

const MATCH: Record<FilterFlags['matchSelectorsOn'], SelectorMatchMsg> = {
  exact: 'MATCH_EXACT',
  subset: 'MATCH_SUBSET',
  superset: 'MATCH_SUPERSET',
  any: 'MATCH_ANY',
};

export function filterFromFlags(f: FilterFlags): EntryFilterMsg {
  const filter: EntryFilterMsg = {};
  if (f.spiffeId !== undefined) filter.by_spiffe_id = f.spiffeId;
  if (f.parentId !== undefined) filter.by_parent_id = f.parentId;
  if (f.selector !== undefined) filter.by_selectors = { selectors: f.selector.map((s) => parseSelector(s)), match: MATCH[f.matchSelectorsOn] };
  if (f.federatesWith !== undefined) filter.by_federates_with = f.federatesWith.replace(/^spiffe:\/\//, '');
  if (f.hint !== undefined) filter.by_hint = f.hint;
  const downstream = parseBool(f.downstream, '--downstream');
  if (downstream !== undefined) filter.by_downstream = downstream;
  return filter;
}
