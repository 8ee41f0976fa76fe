/**
 * EntryFilter as SQL. Selector matching follows SPIRE's list filter (BySelectors match modes):
 *   exact    the entry's selector set equals the given set (one lookup on selectors_hash)
 *   subset   every selector of the entry is among the given ones (a workload with these
 *            selectors gets the entry)
 *   superset the entry has every given selector, and maybe more
 *   any      the entry has at least one given selector
 * Entries always have at least one selector, so subset and any of an empty set match nothing and
 * superset of an empty set matches everything.
 */
import type { Expression, ExpressionBuilder, SqlBool } from 'kysely';
import type { EntryFilter, Selector } from '../types.js';
import { selectorsHash } from './entry-rows.js';
import type { Database } from './schema.js';
import { fromBool, normalizeSelectors } from './values.js';

type EntryEB = ExpressionBuilder<Database, 'registration_entries'>;
type SelectorEB = ExpressionBuilder<Database & { s: Database['entry_selectors'] }, 'registration_entries' | 's'>;

export function entryWhere(filter: EntryFilter | undefined): (eb: EntryEB) => Expression<SqlBool> {
  return (eb) => {
    const conds: Expression<SqlBool>[] = [];
    if (filter?.spiffeId !== undefined) conds.push(eb('registration_entries.spiffe_id', '=', filter.spiffeId));
    if (filter?.parentId !== undefined) conds.push(eb('registration_entries.parent_id', '=', filter.parentId));
    if (filter?.hint !== undefined) conds.push(eb('registration_entries.hint', '=', filter.hint));
    if (filter?.downstream !== undefined) conds.push(eb('registration_entries.downstream', '=', fromBool(filter.downstream)));
    if (filter?.federatesWith !== undefined) {
      const td = filter.federatesWith;
      conds.push(
        eb.exists(
          eb
            .selectFrom('entry_federates_with as f')
            .select('f.entry_id')
            .whereRef('f.entry_id', '=', 'registration_entries.id')
            .where('f.trust_domain', '=', td),
        ),
      );
    }
    if (filter?.selectors !== undefined) {
      conds.push(selectorMatch(eb, filter.selectors.match, normalizeSelectors(filter.selectors.selectors)));
    }
    return eb.and(conds);
  };
}

function selectorMatch(eb: EntryEB, match: NonNullable<EntryFilter['selectors']>['match'], given: Selector[]): Expression<SqlBool> {
  const ofEntry = () => eb.selectFrom('entry_selectors as s').whereRef('s.entry_id', '=', 'registration_entries.id');
  const isGiven = (sb: SelectorEB): Expression<SqlBool> =>
    sb.or(given.map((g) => sb.and([sb('s.type', '=', g.type), sb('s.value', '=', g.value)])));
  switch (match) {
    case 'exact':
      return eb('registration_entries.selectors_hash', '=', selectorsHash(given));
    case 'any':
      return eb.exists(ofEntry().select('s.entry_id').where(isGiven));
    case 'superset':
      if (given.length === 0) return eb.and([]);
      return eb(ofEntry().select((sb) => sb.fn.countAll().as('n')).where(isGiven), '=', given.length);
    case 'subset':
      return eb.and([
        eb.exists(ofEntry().select('s.entry_id').where(isGiven)),
        eb.not(eb.exists(ofEntry().select('s.entry_id').where((sb) => sb.not(isGiven(sb))))),
      ]);
  }
}
