/**
 * What every datastore suite shares: a fresh database per test, every datastore a test opens
 * closed after it, record builders with every field set, and error assertions that check the
 * code, the gRPC status and the exact message.
 */
import assert from 'node:assert/strict';
import type { Datastore } from '../../../server/datastore/datastore.js';
import { DatastoreError } from '../../../server/datastore/errors.js';
import { openDatastore } from '../../../server/datastore/open.js';
import type { DatastoreOptions } from '../../../server/datastore/options.js';
import type { AttestedAgent, NewEntry } from '../../../server/datastore/types.js';
import type { DatastoreTarget } from './target.js';

export interface Harness {
  /** The URL of this test's database. */
  readonly url: string;
  /** A datastore on it, opened before the test. */
  readonly ds: Datastore;
  /** Opens another datastore (on this test's database unless told otherwise), closed after the test. */
  open(options?: DatastoreOptions, url?: string): Promise<Datastore>;
}

export function useDatastore(target: DatastoreTarget): Harness {
  const opened: Datastore[] = [];
  let url = '';
  let ds: Datastore | undefined;
  const open = async (options: DatastoreOptions = {}, at = url): Promise<Datastore> => {
    const d = await openDatastore(at, options);
    opened.push(d);
    return d;
  };
  beforeEach(async () => {
    url = await target.freshUrl();
    ds = await open();
  });
  afterEach(async () => {
    for (const d of opened.splice(0)) await d.close();
  });
  return {
    get url() {
      return url;
    },
    get ds() {
      return ds!;
    },
    open,
  };
}

export const TD = 'spiffe://example.org';
export const AGENT = `${TD}/sigil/agent/join_token/4f1c`;

export function newEntry(overrides: Partial<NewEntry> = {}): NewEntry {
  return {
    spiffeId: `${TD}/workload`,
    parentId: AGENT,
    selectors: [{ type: 'unix', value: 'uid:1000' }],
    x509SvidTtl: 0,
    jwtSvidTtl: 0,
    dnsNames: [],
    federatesWith: [],
    admin: false,
    downstream: false,
    expiresAt: null,
    hint: '',
    ...overrides,
  };
}

export function newAgent(overrides: Partial<AttestedAgent> = {}): Omit<AttestedAgent, 'createdAt' | 'updatedAt'> {
  return {
    spiffeId: AGENT,
    attestationType: 'join_token',
    serialNumber: '0a1b2c',
    expiresAt: 1_900_000_000,
    newSerialNumber: null,
    newExpiresAt: null,
    banned: false,
    canReattest: false,
    selectors: [{ type: 'join_token', value: '4f1c' }],
    agentVersion: '0.1.0',
    ...overrides,
  };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function rejectsWith(promise: Promise<unknown>, code: string, status: number, message: string | RegExp): Promise<DatastoreError> {
  let caught: unknown;
  await assert.rejects(promise, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof DatastoreError, `expected a DatastoreError, got ${String(caught)}`);
  assert.equal(caught.code, code);
  assert.equal(caught.status, status);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

/** Resolves when `check` returns true, polling; fails after `ms` with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, ms = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await check()) return Date.now() - start;
    if (Date.now() - start > ms) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
