/**
 * Conversions between records and column values. Integers come back from the drivers as number,
 * bigint or (never, but cheaply handled) decimal strings; every read goes through here so that a
 * value JavaScript cannot hold exactly is an error, never a silently rounded number.
 */
import { internal, invalid } from '../errors.js';
import type { Selector } from '../types.js';
import type { Int } from './schema.js';

export function toNumber(v: Int | string): number {
  if (typeof v === 'number') return v;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    throw internal('reading an integer column', new RangeError(`${String(v)} is not a safe integer`));
  }
  return n;
}

export const INT32 = { min: -(2 ** 31), max: 2 ** 31 - 1 } as const;
const SAFE = { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER } as const;

/**
 * Rejects numbers the engines would store differently: PostgreSQL refuses fractions and values out
 * of its column's range, where SQLite would quietly keep them as floating point.
 */
export function checkInt(what: string, v: number, range: { min: number; max: number } = SAFE): number {
  if (!Number.isInteger(v) || v < range.min || v > range.max) {
    throw invalid(`${what} ${v} must be an integer from ${range.min} to ${range.max}`);
  }
  return v;
}

export const checkIntOrNull = (what: string, v: number | null): number | null => (v === null ? null : checkInt(what, v));

export const toNumberOrNull = (v: Int | string | null): number | null => (v === null ? null : toNumber(v));

export const toBool = (v: Int): boolean => toNumber(v) !== 0;

export const fromBool = (b: boolean): number => (b ? 1 : 0);

const U64_MAX = (1n << 64n) - 1n;

/**
 * spiffe_sequence is a uint64 and neither engine has an unsigned 64-bit column, so it is stored as
 * the int64 with the same bits: exact for every value, including 2^63 and above (which read back
 * negative in a SQL shell). Nothing compares sequences in SQL, so the order of the raw column
 * does not matter.
 */
export function sequenceToColumn(seq: bigint): bigint {
  if (typeof seq !== 'bigint' || seq < 0n || seq > U64_MAX) {
    throw invalid(`bundle sequence ${String(seq)} is not an unsigned 64-bit integer`);
  }
  return BigInt.asIntN(64, seq);
}

export const sequenceFromColumn = (v: Int | string): bigint => BigInt.asUintN(64, BigInt(v));

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** JavaScript's string order, the same whatever the engine or locale (SQL ORDER BY follows a collation). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

export const compareSelectors = (a: Selector, b: Selector): number =>
  compareStrings(a.type, b.type) || compareStrings(a.value, b.value);

/** Sorted by type then value, duplicates removed: the form records promise. */
export function normalizeSelectors(selectors: readonly Selector[]): Selector[] {
  const sorted = selectors.map((s) => ({ type: s.type, value: s.value })).sort(compareSelectors);
  return sorted.filter((s, i) => i === 0 || compareSelectors(sorted[i - 1]!, s) !== 0);
}

export const sortedUnique = (values: readonly string[]): string[] =>
  [...new Set(values)].sort(compareStrings);

export const uniqueInOrder = (values: readonly string[]): string[] => [...new Set(values)];

/** Splits rows so no statement binds more than `maxParams` parameters. */
export function chunk<T>(items: readonly T[], paramsPerItem: number, maxParams: number): T[][] {
  const size = Math.max(1, Math.floor(maxParams / paramsPerItem));
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
