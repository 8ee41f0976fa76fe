/**
 * The engines the datastore suites run on. A target hands out URLs of fresh, empty databases (a
 * file in a temporary directory; a PostgreSQL schema of its own) and removes them all at the end,
 * and can run SQL behind the datastore's back for tests that need to break the rules.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export interface DatastoreTarget {
  readonly kind: 'sqlite' | 'postgres';
  /** Before any suite: fails, saying what to do, if the engine cannot be used. */
  setup(): Promise<void>;
  /** A URL naming a new, empty database. */
  freshUrl(): Promise<string>;
  /** Runs a statement on the database at `url` directly, bypassing the datastore. */
  exec(url: string, statement: string): Promise<void>;
  teardown(): Promise<void>;
}

export function sqliteTarget(): DatastoreTarget {
  let dir = '';
  let n = 0;
  return {
    kind: 'sqlite',
    async setup() {
      dir = mkdtempSync(join(tmpdir(), 'sigil-datastore-'));
    },
    async freshUrl() {
      return `sqlite:${join(dir, `nested-${++n}`, 'sigil.db')}`;
    },
    async exec(url, statement) {
      const db = new Database(url.slice('sqlite:'.length));
      try {
        db.exec(statement);
      } finally {
        db.close();
      }
    },
    async teardown() {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const DEFAULT_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export function postgresTarget(): DatastoreTarget {
  const base = process.env['SIGIL_TEST_POSTGRES_URL'] || DEFAULT_POSTGRES_URL;
  const schemas: string[] = [];
  const run = `sigil_test_${process.pid}_${Date.now().toString(36)}`;
  const withSchema = (schema: string): string => {
    const u = new URL(base);
    u.searchParams.set('schema', schema);
    return u.toString();
  };
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: base, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    kind: 'postgres',
    async setup() {
      try {
        await admin((c) => c.query('select 1'));
      } catch (err) {
        const u = new URL(base);
        throw new Error(
          `PostgreSQL is not reachable at ${u.host}${u.pathname} (${err instanceof Error ? err.message : String(err)}). ` +
            'The datastore suite runs on PostgreSQL too: start one, or set SIGIL_TEST_POSTGRES_URL to a database ' +
            'the tests may create schemas in, e.g. SIGIL_TEST_POSTGRES_URL=postgres://USER:PASSWORD@HOST:5432/DB',
        );
      }
    },
    async freshUrl() {
      const schema = `${run}_${schemas.length + 1}`;
      schemas.push(schema);
      return withSchema(schema);
    },
    async exec(url, statement) {
      const schema = new URL(url).searchParams.get('schema')!;
      await admin(async (c) => {
        await c.query(`set search_path to "${schema}"`);
        await c.query(statement);
      });
    },
    async teardown() {
      if (schemas.length === 0) return;
      await admin(async (c) => {
        for (const s of schemas) await c.query(`drop schema if exists "${s}" cascade`);
      });
    },
  };
}
