/** Assertions on the BundleErrors the bundle tests expect. */
import { strict as assert } from 'node:assert';
import { BundleError } from '../../spiffe/bundle/index.js';

/** The BundleError `fn` throws; fails the test when it throws anything else or nothing. */
export function caughtBundleError(fn: () => unknown): BundleError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof BundleError, `expected a BundleError, got ${String(caught)}`);
  return caught;
}

/** The BundleError `fn` throws, whose message must equal `message` (a string) or match it (a RegExp). */
export function rejects(fn: () => unknown, message: string | RegExp): BundleError {
  const caught = caughtBundleError(fn);
  if (typeof message === 'string') assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}
