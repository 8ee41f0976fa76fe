import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  matchId,
  matchMemberOf,
  matchOneOf,
  Rule,
  SpiffeId,
  SpiffeIdError,
  TrustDomain,
} from '../../../spiffe/spiffeid/index.js';

const tdChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-_');
const pathChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_');
const trustDomainName = fc.string({ unit: tdChar, minLength: 1, maxLength: 40 });
const segment = fc
  .string({ unit: pathChar, minLength: 1, maxLength: 20 })
  .filter((s) => s !== '.' && s !== '..');
const segments = fc.array(segment, { maxLength: 8 });

describe('spiffeid', () => {
  describe('properties', () => {
    it('fromSegments → toString → fromString round-trips', () => {
      fc.assert(
        fc.property(trustDomainName, segments, (name, segs) => {
          const td = TrustDomain.fromString(name);
          const id = SpiffeId.fromSegments(td, ...segs);
          const again = SpiffeId.fromString(id.toString());
          assert.ok(again.equals(id));
          assert.deepEqual(again.segments(), segs);
          assert.equal(again.trustDomain.name, name);
        }),
      );
    });

    it('TrustDomain accepts its own ID string and any member ID', () => {
      fc.assert(
        fc.property(trustDomainName, segments, (name, segs) => {
          const td = TrustDomain.fromString(name);
          assert.ok(TrustDomain.fromString(td.idString()).equals(td));
          const id = SpiffeId.fromSegments(td, ...segs);
          assert.ok(TrustDomain.fromString(id.toString()).equals(td));
          assert.ok(id.memberOf(td));
        }),
      );
    });

    it('any string either parses to itself or throws a SpiffeIdError (never anything else)', () => {
      const arbitraryText = fc.oneof(
        fc.string({ maxLength: 60 }),
        fc.string({ maxLength: 40 }).map((s) => `spiffe://${s}`),
        fc.tuple(trustDomainName, fc.string({ maxLength: 30 })).map(([td, p]) => `spiffe://${td}/${p}`),
      );
      fc.assert(
        fc.property(arbitraryText, (s) => {
          let id: SpiffeId | undefined;
          try {
            id = SpiffeId.fromString(s);
          } catch (err) {
            assert.ok(err instanceof SpiffeIdError, String(err));
            assert.equal(SpiffeId.tryParse(s), undefined);
            return;
          }
          assert.equal(id.toString(), s);
          assert.ok(SpiffeId.tryParse(s)?.equals(id));
        }),
        { numRuns: 2000 },
      );
    });

    it('contains() is prefix-by-segment, not by characters', () => {
      fc.assert(
        fc.property(trustDomainName, segments, segment, (name, segs, extra) => {
          const td = TrustDomain.fromString(name);
          const parent = SpiffeId.fromSegments(td, ...segs);
          const child = parent.appendSegments(extra);
          assert.ok(parent.contains(child));
          assert.ok(parent.contains(parent));
          assert.ok(!child.contains(parent));
          const sibling = SpiffeId.fromString(`${parent.toString()}${segs.length ? '' : '/'}${extra}x`);
          if (segs.length > 0) assert.ok(!parent.contains(sibling));
        }),
      );
    });
  });

  describe('constructors', () => {
    const td = TrustDomain.fromString('example.org');

    it('fromPath checks the path rules', () => {
      assert.equal(SpiffeId.fromPath(td, '/a/b').toString(), 'spiffe://example.org/a/b');
      assert.throws(() => SpiffeId.fromPath(td, 'a'), { message: Rule.noLeadingSlash });
      assert.throws(() => SpiffeId.fromPath(td, '/a/'), { message: Rule.trailingSlash });
    });

    it('appendPath/replacePath keep the trust domain and check the result', () => {
      const id = SpiffeId.fromPath(td, '/ns');
      assert.equal(id.appendPath('/sa/x').toString(), 'spiffe://example.org/ns/sa/x');
      assert.equal(id.replacePath('/other').toString(), 'spiffe://example.org/other');
      assert.throws(() => id.appendPath('/..'), { message: Rule.dotSegment });
    });

    it('constructed IDs obey the 2048-byte limit too', () => {
      const long = 'a'.repeat(1000);
      const id = SpiffeId.fromSegments(td, long, long);
      assert.throws(() => id.appendSegments(long), { message: Rule.idTooLong });
    });

    it('the trust domain ID has no path and is not a workload ID', () => {
      const tdId = SpiffeId.forTrustDomain(td);
      assert.equal(tdId.toString(), 'spiffe://example.org');
      assert.ok(tdId.isTrustDomainId());
      assert.deepEqual(tdId.segments(), []);
    });

    it('JSON form is the string form', () => {
      assert.equal(JSON.stringify({ id: SpiffeId.fromString('spiffe://a/b'), td }), '{"id":"spiffe://a/b","td":"example.org"}');
    });
  });

  describe('matchers', () => {
    const a = SpiffeId.fromString('spiffe://example.org/a');
    const b = SpiffeId.fromString('spiffe://example.org/b');
    const other = SpiffeId.fromString('spiffe://other.org/a');

    it('matchId / matchOneOf / matchMemberOf accept and reject with the reason', () => {
      matchId(a)(a);
      assert.throws(() => matchId(a)(b), { message: 'unexpected ID "spiffe://example.org/b"' });
      matchOneOf(a, b)(b);
      assert.throws(() => matchOneOf(a, b)(other), { message: 'unexpected ID "spiffe://other.org/a"' });
      matchMemberOf(a.trustDomain)(b);
      assert.throws(() => matchMemberOf(a.trustDomain)(other), { message: 'unexpected trust domain "other.org"' });
    });
  });
});
