/**
 * How a datastore is opened. One object for both engines; options that only mean something to one
 * of them say so and are ignored by the other.
 */

/** The little the datastore logs: connection trouble it recovers from, and gaps it gives up on. */
export interface DatastoreLogger {
  info(message: string): void;
  warn(message: string): void;
}

export interface DatastoreOptions {
  /** Defaults to a logger that drops everything. */
  logger?: DatastoreLogger;
  /**
   * PostgreSQL: the schema to keep the tables in, created if missing; every pooled connection
   * gets `SET search_path` to it. Overrides `?schema=` in the URL. Default: the server's
   * search_path (usually `public`).
   */
  schema?: string;
  /** PostgreSQL: the most connections the pool opens (default 10). */
  maxConnections?: number;
  /** SQLite: how long a writer waits for another process's write lock, in ms (default 5000). */
  busyTimeoutMs?: number;
  events?: {
    /**
     * How often onChange listeners are woken if `latestId()` moved without a notification
     * reaching this process, in ms; 0 turns polling off. Default 1000.
     */
    pollIntervalMs?: number;
    /** PostgreSQL: LISTEN for other processes' commits (default true). */
    listen?: boolean;
  };
  /**
   * For tests of crash safety and event ordering: called inside every write transaction after all
   * its statements (events included) and just before COMMIT, with the operation's name
   * (e.g. `entries.create`). A hook that never resolves holds the transaction open.
   */
  hooks?: {
    beforeCommit?: (operation: string) => void | Promise<void>;
  };
}

export const silentLogger: DatastoreLogger = {
  info: () => undefined,
  warn: () => undefined,
};
