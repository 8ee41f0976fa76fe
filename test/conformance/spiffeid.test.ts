/**
 * go-spiffe's SPIFFE ID vectors (shared/conformance/spiffeid_cases.json), one test each, named by
 * the input. Where sigil deliberately differs, DIVERGENCES says so and why; every other vector
 * must give go-spiffe's outcome and its exact error text.
 */
import assert from 'node:assert/strict';
import {
  joinPathSegments,
  MAX_ID_BYTES,
  MAX_TRUST_DOMAIN_BYTES,
  Rule,
  SpiffeId,
  SpiffeIdError,
  TrustDomain,
  validatePath,
} from '../../spiffe/spiffeid/index.js';
import { readSharedJson } from '../support/shared.js';

interface Case<I = string> {
  input: I;
  valid: boolean;
  error: string | null;
  expected_trust_domain?: string;
  expected_path?: string;
  origin: string;
  note?: string;
}

interface Cases {
  id_from_string: Case[];
  trust_domain_from_string: Case[];
  validate_path: Case[];
  join_path_segments: Case<string[]>[];
}

interface Divergence {
  error: string;
  why: string;
}

/**
 * The spec's length limits (SPIFFE-ID.md 2.1, 2.3), which go-spiffe does not enforce. sigil
 * rejects longer input so that an ID read from a certificate or a request has a known bound
 * before it is stored, logged or used as a map key, and so sigil never accepts what the spec
 * says must not be generated.
 */
function divergence(c: Case<unknown>): Divergence | undefined {
  if (typeof c.input !== 'string' || !c.valid) return undefined;
  if (Buffer.byteLength(c.input) > MAX_ID_BYTES) {
    return { error: Rule.idTooLong, why: `spec limit of ${MAX_ID_BYTES} bytes, go-spiffe has none` };
  }
  const td = c.expected_trust_domain ?? '';
  if (Buffer.byteLength(td) > MAX_TRUST_DOMAIN_BYTES) {
    return { error: Rule.trustDomainTooLong, why: `spec limit of ${MAX_TRUST_DOMAIN_BYTES} bytes, go-spiffe has none` };
  }
  return undefined;
}

function label(input: unknown): string {
  const s = JSON.stringify(input);
  return s.length > 80 ? `${s.slice(0, 60)}… (${s.length} chars)` : s;
}

function expectError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof SpiffeIdError, `expected SpiffeIdError, got ${String(err)}`);
    assert.equal(err.message, message);
    assert.equal(err.code, 'SIGIL_SPIFFEID_INVALID');
    return true;
  });
}

const cases = readSharedJson<Cases>('conformance', 'spiffeid_cases.json');

function section<I>(name: string, list: Case<I>[], run: (c: Case<I>) => void): void {
  describe(`${name} (${list.length} vectors)`, () => {
    let ran = 0;
    for (const c of list) {
      const d = divergence(c as Case<unknown>);
      const title = d ? `${label(c.input)} (sigil differs: ${d.why})` : label(c.input);
      it(title, () => {
        ran++;
        // A divergent vector is run as the invalid case sigil makes of it, with sigil's error text.
        run(d ? { ...c, valid: false, error: d.error } : c);
      });
    }
    it(`ran all ${list.length} vectors`, () => assert.equal(ran, list.length));
  });
}

describe('conformance: SPIFFE IDs (go-spiffe v2.8.1 vectors)', () => {
  section('SpiffeId.fromString', cases.id_from_string, (c) => {
    if (!c.valid) return expectError(() => SpiffeId.fromString(c.input), c.error ?? '');
    const id = SpiffeId.fromString(c.input);
    assert.equal(id.toString(), c.input);
    assert.equal(id.trustDomain.name, c.expected_trust_domain);
    assert.equal(id.path, c.expected_path);
  });

  section('TrustDomain.fromString', cases.trust_domain_from_string, (c) => {
    if (!c.valid) return expectError(() => TrustDomain.fromString(c.input), c.error ?? '');
    const td = TrustDomain.fromString(c.input);
    assert.equal(td.name, c.expected_trust_domain);
    assert.equal(td.idString(), `spiffe://${c.expected_trust_domain}`);
  });

  section('validatePath', cases.validate_path, (c) => {
    if (!c.valid) return expectError(() => validatePath(c.input), c.error ?? '');
    validatePath(c.input);
  });

  section('joinPathSegments', cases.join_path_segments, (c) => {
    if (!c.valid) return expectError(() => joinPathSegments(...c.input), c.error ?? '');
    assert.equal(joinPathSegments(...c.input), c.expected_path);
  });
});
