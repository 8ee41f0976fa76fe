import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import type { SelectorMatch } from '../../../server/datastore/types.js';
import { batch, ids } from './entries.suite.js';
import { TD, newEntry, rejectsWith, useDatastore } from './harness.js';
import type { DatastoreTarget } from './target.js';

export function entryQueriesSuite(target: DatastoreTarget): void {
  describe('entry queries', () => {
    const t = useDatastore(target);

    it('matches selectors as SPIRE does: exact, subset, superset, any', async () => {
      const sel = (...pairs: string[]) => pairs.map((p) => ({ type: p.split(':')[0]!, value: p.split(':')[1]! }));
      await t.ds.entries.create([
        newEntry({ id: 'e1', spiffeId: `${TD}/1`, selectors: sel('a:1') }),
        newEntry({ id: 'e2', spiffeId: `${TD}/2`, selectors: sel('a:1', 'b:2') }),
        newEntry({ id: 'e3', spiffeId: `${TD}/3`, selectors: sel('b:2', 'c:3') }),
        newEntry({ id: 'e4', spiffeId: `${TD}/4`, selectors: sel('d:4') }),
      ]);
      const cases: [SelectorMatch, string[], string[]][] = [
        ['exact', ['b:2', 'a:1'], ['e2']],
        ['subset', ['a:1', 'b:2'], ['e1', 'e2']],
        ['superset', ['a:1', 'b:2'], ['e2']],
        ['any', ['a:1', 'b:2'], ['e1', 'e2', 'e3']],
        ['exact', ['a:1'], ['e1']],
        ['subset', ['a:1', 'b:2', 'c:3', 'x:9'], ['e1', 'e2', 'e3']],
        ['superset', ['a:1'], ['e1', 'e2']],
        ['any', ['d:4', 'z:0'], ['e4']],
        ['exact', [], []],
        ['subset', [], []],
        ['superset', [], ['e1', 'e2', 'e3', 'e4']],
        ['any', [], []],
      ];
      for (const [match, given, expected] of cases) {
        const filter = { selectors: { match, selectors: sel(...given) } };
        assert.deepEqual(ids((await t.ds.entries.list(filter)).items), expected, `${match} [${given.join(' ')}]`);
        assert.equal(await t.ds.entries.count(filter), expected.length, `count ${match} [${given.join(' ')}]`);
      }
    });

    it('filters by spiffe_id, parent_id, federates_with, hint and downstream, alone and together', async () => {
      await t.ds.entries.create([
        newEntry({ id: 'p', spiffeId: `${TD}/p`, federatesWith: ['fed.org', 'other.org'], hint: 'h1' }),
        newEntry({ id: 'q', spiffeId: `${TD}/q`, parentId: `${TD}/p`, federatesWith: ['other.org'], downstream: true }),
        newEntry({ id: 'r', spiffeId: `${TD}/p`, parentId: `${TD}/q`, hint: 'h1', downstream: true }),
      ]);
      const cases: [Parameters<typeof t.ds.entries.list>[0], string[]][] = [
        [{ spiffeId: `${TD}/p` }, ['p', 'r']],
        [{ parentId: `${TD}/p` }, ['q']],
        [{ federatesWith: 'fed.org' }, ['p']],
        [{ federatesWith: 'other.org' }, ['p', 'q']],
        [{ federatesWith: 'none.org' }, []],
        [{ hint: 'h1' }, ['p', 'r']],
        [{ downstream: true }, ['q', 'r']],
        [{ downstream: false }, ['p']],
        [{ spiffeId: `${TD}/p`, downstream: true, hint: 'h1' }, ['r']],
        [{ federatesWith: 'other.org', selectors: { match: 'exact', selectors: [{ type: 'unix', value: 'uid:1000' }] } }, ['p', 'q']],
        [{}, ['p', 'q', 'r']],
      ];
      for (const [filter, expected] of cases) {
        assert.deepEqual(ids((await t.ds.entries.list(filter)).items), expected, JSON.stringify(filter));
        assert.equal(await t.ds.entries.count(filter), expected.length, JSON.stringify(filter));
      }
    });

    it('pages in id order with opaque tokens, with and without a filter', async () => {
      const entries = batch(10).reverse();
      entries[4] = { ...entries[4]!, hint: 'odd' };
      entries[7] = { ...entries[7]!, hint: 'odd' };
      entries[8] = { ...entries[8]!, hint: 'odd' };
      await t.ds.entries.create(entries);
      const all = ids((await t.ds.entries.list()).items);
      assert.deepEqual(all, [...all].sort());
      const collect = async (pageSize: number, filter = {}) => {
        const pages: string[][] = [];
        let pageToken: string | undefined;
        do {
          const page = await t.ds.entries.list(filter, pageToken === undefined ? { pageSize } : { pageSize, pageToken });
          pages.push(ids(page.items));
          pageToken = page.nextPageToken;
          assert.ok(pages.length <= 20, 'paging does not end');
        } while (pageToken !== undefined);
        return pages;
      };
      assert.deepEqual((await collect(3)).map((p) => p.length), [3, 3, 3, 1]);
      assert.deepEqual((await collect(3)).flat(), all);
      assert.deepEqual((await collect(5)).map((p) => p.length), [5, 5]);
      assert.deepEqual(await collect(0), [all]);
      assert.deepEqual((await collect(2, { hint: 'odd' })).flat(), ['w-0001', 'w-0002', 'w-0005']);
      await rejectsWith(t.ds.entries.list({}, { pageSize: 2, pageToken: 'not-a-token' }), Code.invalid, Status.INVALID_ARGUMENT, /page token "not-a-token" is not one this datastore issued/);
    });
  });
}
