/**
 * The datastore conformance suite, run on both engines: SQLite (a file in a temporary directory)
 * and PostgreSQL (SIGIL_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test, each
 * test in a schema of its own, all dropped at the end). A PostgreSQL that cannot be reached fails
 * the run, saying how to point the suite at one: CI has PostgreSQL, and a skipped engine would hide
 * exactly the concurrency bugs only it shows.
 */
import { Status } from '../../../spiffe/errors.js';
import { DatastoreErrorCode as Code } from '../../../server/datastore/errors.js';
import { openDatastore } from '../../../server/datastore/open.js';
import { agentsSuite } from './agents.suite.js';
import { bundlesSuite } from './bundles.suite.js';
import { entriesSuite } from './entries.suite.js';
import { entryQueriesSuite } from './entry-queries.suite.js';
import { eventTailSuite } from './event-tail.suite.js';
import { eventsSuite } from './events.suite.js';
import { rejectsWith } from './harness.js';
import { lifecycleSuite } from './lifecycle.suite.js';
import { type DatastoreTarget, postgresTarget, sqliteTarget } from './target.js';
import { tokensSuite } from './tokens.suite.js';

for (const target of [sqliteTarget(), postgresTarget()] as DatastoreTarget[]) {
  describe(`datastore on ${target.kind}`, function () {
    this.timeout(60_000);
    before(() => target.setup());
    after(() => target.teardown());
    entriesSuite(target);
    entryQueriesSuite(target);
    agentsSuite(target);
    tokensSuite(target);
    bundlesSuite(target);
    eventsSuite(target);
    lifecycleSuite(target);
  });
}

eventTailSuite();

describe('openDatastore URLs', () => {
  it('refuses an unknown scheme, naming it and the accepted ones but not the rest of the URL', async () => {
    await rejectsWith(
      openDatastore('mysql://root:hunter2@db/sigil'),
      Code.invalid,
      Status.INVALID_ARGUMENT,
      'datastore: unsupported datastore URL scheme "mysql:": use sqlite:PATH, sqlite::memory:, postgres://… or postgresql://…',
    );
    await rejectsWith(openDatastore('/var/lib/sigil.db'), Code.invalid, Status.INVALID_ARGUMENT, /has no scheme: use sqlite:PATH/);
    await rejectsWith(openDatastore('sqlite:'), Code.invalid, Status.INVALID_ARGUMENT, /names no file/);
  });

  it('opens sqlite::memory:', async () => {
    const ds = await openDatastore('sqlite::memory:');
    try {
      await ds.joinTokens.create({ token: 't', expiresAt: 1, aliasSpiffeId: null });
      if ((await ds.joinTokens.consume('t')) === undefined) throw new Error('token lost');
    } finally {
      await ds.close();
    }
  });

  it('reports an unreachable PostgreSQL as UNAVAILABLE, without the password', async () => {
    const err = await rejectsWith(
      openDatastore('postgres://sigil:hunter2@127.0.0.1:1/sigil'),
      Code.unavailable,
      Status.UNAVAILABLE,
      /^datastore: cannot connect to PostgreSQL at 127\.0\.0\.1:1\/sigil: /,
    );
    if (err.message.includes('hunter2')) throw new Error('the password leaked into the message');
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await rejectsWith(
      openDatastore('postgres://127.0.0.1:1/db?schema=a";drop'),
      Code.invalid,
      Status.INVALID_ARGUMENT,
      /schema name "a\\";drop" must be letters, digits and underscores/,
    );
  });
});
