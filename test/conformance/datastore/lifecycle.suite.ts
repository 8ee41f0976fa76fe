import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { TD, newAgent, newEntry, rejectsWith, useDatastore } from './harness.js';
import { WRITER } from './events.suite.js';
import type { DatastoreTarget } from './target.js';

/** Starts the writer fixture and resolves once it has printed `line`; the caller kills it. */
function startWriter(args: string[], line: string): Promise<{ kill: () => Promise<void> }> {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the writer never printed ${JSON.stringify(line)}; stderr: ${err}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.split('\n').includes(line)) {
        clearTimeout(timer);
        resolve({
          kill: async () => {
            child.kill('SIGKILL');
            await exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the writer exited (${code}) before printing ${JSON.stringify(line)}; stderr: ${err}`));
    });
  });
}

export function lifecycleSuite(target: DatastoreTarget): void {
  describe('lifecycle', () => {
    const t = useDatastore(target);

    it('a restart keeps everything', async () => {
      const entries = await t.ds.entries.create([
        newEntry({ id: 'e1', dnsNames: ['b.org', 'a.org'], federatesWith: ['f.org'], expiresAt: 2_000_000_000, hint: 'h' }),
        newEntry({ id: 'e2', spiffeId: `${TD}/2`, admin: true }),
      ]);
      const agent = await t.ds.agents.upsert(newAgent({ newSerialNumber: 'ab', newExpiresAt: 1_999_999_999 }));
      await t.ds.joinTokens.create({ token: 'tok', expiresAt: 1_900_000_000, aliasSpiffeId: `${TD}/alias` });
      const bundle = await t.ds.bundles.update('example.org', () => ({ trustDomain: 'example.org', document: '{"keys":[]}', sequence: 2n ** 63n + 5n }));
      const journal = await t.ds.caJournals.put('server-1', '{"j":1}');
      const other = await t.ds.caJournals.put('server-0', '{"j":0}');
      const events = await t.ds.events.since(0);
      await t.ds.close();

      const again = await t.open();
      assert.deepEqual((await again.entries.list()).items, entries);
      assert.deepEqual(await again.agents.get(agent.spiffeId), agent);
      assert.deepEqual(await again.bundles.get('example.org'), bundle);
      assert.deepEqual(await again.caJournals.get('server-1'), journal);
      assert.deepEqual(await again.caJournals.list(), [other, journal]);
      assert.deepEqual(await again.events.since(0), events);
      assert.deepEqual(await again.joinTokens.consume('tok'), { token: 'tok', expiresAt: 1_900_000_000, aliasSpiffeId: `${TD}/alias` });
      await again.entries.create([newEntry({ id: 'e3', spiffeId: `${TD}/3` })]);
      assert.ok((await again.events.latestId()) > events[events.length - 1]!.id);
    });

    it('SIGKILL while a 2,000-entry batch is open leaves nothing behind, and the database works after', async () => {
      await t.ds.close();
      const writer = await startWriter(['hang', t.url, '2000'], 'ready');
      await writer.kill();
      const after = await t.open();
      assert.equal(await after.entries.count(), 0);
      assert.equal(await after.events.latestId(), 0);
      assert.deepEqual(await after.events.since(0), []);
      const writer2 = await startWriter(['batches', t.url, '2000', '1'], 'batch 0');
      await writer2.kill();
      assert.equal(await after.entries.count(), 2000);
      assert.equal((await after.events.since(0, 5000)).length, 2000);
    });

    it('SIGKILL at a random moment during a run of batches leaves only whole batches', async () => {
      await t.ds.close();
      const writer = await startWriter(['batches', t.url, '300', '50'], 'started');
      await new Promise((r) => setTimeout(r, 150 + Math.random() * 400));
      await writer.kill();
      const after = await t.open();
      const entries = await after.entries.count();
      assert.equal(entries % 300, 0, `${entries} entries is not a whole number of batches`);
      assert.equal((await after.events.since(0, 20_000)).length, entries);
      await after.entries.create([newEntry({ id: 'still-works' })]);
    });

    it('refuses a database whose schema is newer than this code, saying so', async () => {
      await t.ds.close();
      await target.exec(t.url, "insert into schema_migrations (version, name, applied_at) values (999, 'from-the-future', 0)");
      await rejectsWith(
        openDatastore(t.url),
        Code.schemaTooNew,
        Status.FAILED_PRECONDITION,
        'datastore: the database schema is at version 999, newer than this sigil supports (1): ' +
          'it was migrated by a newer sigil; run that version, or point this one at another database',
      );
      await target.exec(t.url, 'delete from schema_migrations where version = 999');
      const back = await t.open();
      assert.equal(await back.entries.count(), 0);
    });

    it('several servers opening one new database at once all succeed', async () => {
      const url = await target.freshUrl();
      const opened = await Promise.all(Array.from({ length: 4 }, () => t.open({}, url)));
      await opened[0]!.entries.create([newEntry({ id: 'one' })]);
      for (const ds of opened) assert.equal(await ds.entries.count(), 1);
    });
  });
}
