import { SigilError, Status, messageOf, type StatusCode } from '../../spiffe/errors.js';

/**
 * Every failure the datastore reports. Callers match on `code`; API handlers return `status`.
 * Messages start with `datastore: ` and name the record that was wrong, so an operator reading
 * one line knows which entry, agent or trust domain to look at.
 */
export const DatastoreErrorCode = {
  notFound: 'SIGIL_DATASTORE_NOT_FOUND',
  alreadyExists: 'SIGIL_DATASTORE_ALREADY_EXISTS',
  /** Concurrent writers got in each other's way (deadlock, lost race); retrying may succeed. */
  conflict: 'SIGIL_DATASTORE_CONFLICT',
  /** The database cannot be reached or opened. */
  unavailable: 'SIGIL_DATASTORE_UNAVAILABLE',
  /** The caller passed something no database could store (bad page token, URL, sequence). */
  invalid: 'SIGIL_DATASTORE_INVALID',
  /** The database was migrated by a newer sigil; this one must not touch it. */
  schemaTooNew: 'SIGIL_DATASTORE_SCHEMA_TOO_NEW',
  /** Anything else the driver raised; the original is the `cause`. */
  internal: 'SIGIL_DATASTORE_INTERNAL',
} as const;

export type DatastoreErrorCode = (typeof DatastoreErrorCode)[keyof typeof DatastoreErrorCode];

const STATUS: Record<DatastoreErrorCode, StatusCode> = {
  SIGIL_DATASTORE_NOT_FOUND: Status.NOT_FOUND,
  SIGIL_DATASTORE_ALREADY_EXISTS: Status.ALREADY_EXISTS,
  SIGIL_DATASTORE_CONFLICT: Status.ABORTED,
  SIGIL_DATASTORE_UNAVAILABLE: Status.UNAVAILABLE,
  SIGIL_DATASTORE_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_DATASTORE_SCHEMA_TOO_NEW: Status.FAILED_PRECONDITION,
  SIGIL_DATASTORE_INTERNAL: Status.INTERNAL,
};

export class DatastoreError extends SigilError {
  declare readonly code: DatastoreErrorCode;

  constructor(code: DatastoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `datastore: ${message}`, { status: STATUS[code], cause: options.cause });
  }
}

export const notFound = (what: string): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.notFound, `${what} not found`);

export const alreadyExists = (message: string, cause?: unknown): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.alreadyExists, message, { cause });

export const conflict = (message: string, cause?: unknown): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.conflict, message, { cause });

export const invalid = (message: string, cause?: unknown): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.invalid, message, { cause });

export const unavailable = (message: string, cause?: unknown): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.unavailable, message, { cause });

export const internal = (operation: string, cause: unknown): DatastoreError =>
  new DatastoreError(DatastoreErrorCode.internal, `${operation}: ${messageOf(cause)}`, { cause });

/** Quotes a value in messages the way Go's %q would for plain ASCII, so ids stand out. */
export const q = (s: string): string => JSON.stringify(s);
