/**
 * Opens the datastore a URL names, migrating it to this code's schema:
 *   sqlite:/var/lib/sigil/datastore.db   (also sqlite:///abs/path and sqlite:relative/path; the
 *                                         directory is created)
 *   sqlite::memory:                      (tests; gone on close)
 *   postgres://user@host:5432/db         (also postgresql://; ?schema=NAME keeps the tables in a
 *                                         schema of their own, created if missing)
 */
import type { Datastore } from './datastore.js';
import { invalid, q } from './errors.js';
import type { DatastoreOptions } from './options.js';
import { openPostgres } from './postgres.js';
import { MEMORY, openSqlite } from './sqlite.js';

export type { DatastoreLogger, DatastoreOptions } from './options.js';

const ACCEPTED = 'sqlite:PATH, sqlite::memory:, postgres://… or postgresql://…';

export async function openDatastore(url: string, opts: DatastoreOptions = {}): Promise<Datastore> {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      let path = url.slice('sqlite:'.length);
      if (path === MEMORY) return openSqlite(MEMORY, opts);
      if (path.startsWith('//')) path = path.slice(2);
      if (path === '') throw invalid(`the SQLite URL ${q(url)} names no file: use ${ACCEPTED}`);
      return openSqlite(path, opts);
    }
    case 'postgres':
    case 'postgresql':
      return openPostgres(url, opts);
    case undefined:
      throw invalid(`the datastore URL has no scheme: use ${ACCEPTED}`);
    default:
      // Only the scheme is repeated: the rest of a URL may hold a password.
      throw invalid(`unsupported datastore URL scheme ${q(`${scheme}:`)}: use ${ACCEPTED}`);
  }
}
