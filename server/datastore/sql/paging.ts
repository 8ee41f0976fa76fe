/**
 * Opaque page tokens. A token carries the last key of the page it ends, so the next page starts
 * after it in key order: pages stay correct while rows are added or removed between calls, which
 * an offset would not.
 */
import { invalid } from '../errors.js';
import type { Page } from '../types.js';

const PREFIX = 'k1:';

export function encodePageToken(lastKey: string): string {
  return Buffer.from(PREFIX + lastKey, 'utf8').toString('base64url');
}

/** The key to start after, or undefined for the first page. */
export function decodePageToken(token: string | undefined): string | undefined {
  if (token === undefined || token === '') return undefined;
  const text = /^[A-Za-z0-9_-]+$/.test(token) ? Buffer.from(token, 'base64url').toString('utf8') : '';
  if (!text.startsWith(PREFIX)) throw invalid(`page token ${JSON.stringify(token)} is not one this datastore issued`);
  return text.slice(PREFIX.length);
}

export function pageSize(page: Page | undefined): number {
  const size = page?.pageSize ?? 0;
  if (!Number.isSafeInteger(size) || size < 0) throw invalid(`page size ${size} must be a non-negative integer`);
  return size;
}

/**
 * Trims the one extra row fetched to learn whether another page follows, and makes the token.
 * `rows` were fetched with limit size+1 (or no limit when size is 0).
 */
export function finishPage<T>(rows: T[], size: number, keyOf: (row: T) => string): { rows: T[]; nextPageToken?: string } {
  if (size === 0 || rows.length <= size) return { rows };
  const kept = rows.slice(0, size);
  return { rows: kept, nextPageToken: encodePageToken(keyOf(kept[kept.length - 1]!)) };
}
