/** Registration-entry validation: one test per rule, each asserting the exact message. */
import assert from 'node:assert/strict';
import { Status } from '../../../spiffe/errors.js';
import { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import {
  RegistrationError, RegistrationErrorCode, validateEntry, validateEntryPatch, type EntryInput, type ValidationLimits,
} from '../../../server/registration/index.js';

const TD = TrustDomain.fromString('example.org');
const LIMITS: ValidationLimits = { trustDomain: TD, maxX509SvidTtl: 14400, maxJwtSvidTtl: 14400 };
const GOOD: EntryInput = {
  spiffeId: 'spiffe://example.org/web',
  parentId: 'spiffe://example.org/sigil/agent/join_token/abc',
  selectors: [{ type: 'unix', value: 'uid:1000' }],
};

function rejects(input: EntryInput, message: string, field?: string): void {
  assert.throws(
    () => validateEntry(input, LIMITS),
    (err: unknown) => {
      assert.ok(err instanceof RegistrationError, `expected a RegistrationError, got ${String(err)}`);
      assert.equal(err.message, message);
      assert.equal(err.code, RegistrationErrorCode.invalid);
      assert.equal(err.status, Status.INVALID_ARGUMENT);
      if (field !== undefined) assert.equal(err.field, field);
      return true;
    },
  );
}

describe('registration: validateEntry', () => {
  it('accepts a minimal entry and fills every field with its default', () => {
    assert.deepEqual(validateEntry(GOOD, LIMITS), {
      spiffeId: 'spiffe://example.org/web',
      parentId: 'spiffe://example.org/sigil/agent/join_token/abc',
      selectors: [{ type: 'unix', value: 'uid:1000' }],
      x509SvidTtl: 0,
      jwtSvidTtl: 0,
      dnsNames: [],
      federatesWith: [],
      admin: false,
      downstream: false,
      expiresAt: null,
      hint: '',
    });
  });

  it('normalises: selectors sorted and deduplicated, DNS names deduplicated in order, trust domains by name and sorted', () => {
    const e = validateEntry(
      {
        ...GOOD,
        id: 'my-entry_1.a',
        selectors: [{ type: 'unix', value: 'uid:1' }, { type: 'k8s', value: 'ns:a' }, { type: 'unix', value: 'uid:1' }],
        dnsNames: ['b.example.org', '*.a.example.org', 'b.example.org'],
        federatesWith: ['spiffe://z.org', 'a.org', 'z.org'],
        expiresAt: 0,
        x509SvidTtl: 14400,
        jwtSvidTtl: 300,
        admin: true,
        downstream: true,
        hint: 'h',
      },
      LIMITS,
    );
    assert.equal(e.id, 'my-entry_1.a');
    assert.deepEqual(e.selectors, [{ type: 'k8s', value: 'ns:a' }, { type: 'unix', value: 'uid:1' }]);
    assert.deepEqual(e.dnsNames, ['b.example.org', '*.a.example.org']);
    assert.deepEqual(e.federatesWith, ['a.org', 'z.org']);
    assert.equal(e.expiresAt, null);
    assert.equal(e.x509SvidTtl, 14400);
  });

  it('accepts node-alias entries (parent = the server ID)', () => {
    assert.equal(validateEntry({ ...GOOD, parentId: 'spiffe://example.org/sigil/server' }, LIMITS).parentId, 'spiffe://example.org/sigil/server');
  });

  describe('spiffe_id', () => {
    it('is required', () => rejects({ ...GOOD, spiffeId: '' }, 'entry: spiffe_id: a SPIFFE ID is required', 'spiffe_id'));
    it('must be a string', () => rejects({ ...GOOD, spiffeId: 7 as unknown as string }, 'entry: spiffe_id: 7 is not a string'));
    it('must parse', () =>
      rejects({ ...GOOD, spiffeId: 'http://example.org/web' }, 'entry: spiffe_id: "http://example.org/web" is not a valid SPIFFE ID: scheme is missing or invalid'));
    it('must be in this trust domain', () =>
      rejects({ ...GOOD, spiffeId: 'spiffe://other.org/web' }, 'entry: spiffe_id: trust domain "other.org" is not this server\'s trust domain "example.org"'));
    it('must have a path', () =>
      rejects({ ...GOOD, spiffeId: 'spiffe://example.org' }, 'entry: spiffe_id: "spiffe://example.org" has no path: it names the whole trust domain, not a workload or node'));
    for (const path of ['/sigil', '/sigil/server', '/sigil/agent/join_token/x']) {
      it(`must not be under the reserved ${path}`, () =>
        rejects({ ...GOOD, spiffeId: `spiffe://example.org${path}` }, "entry: spiffe_id: /sigil/… paths are reserved for sigil's own identities"));
    }
    it('may merely start with the letters of the reserved prefix', () => {
      assert.equal(validateEntry({ ...GOOD, spiffeId: 'spiffe://example.org/sigilx' }, LIMITS).spiffeId, 'spiffe://example.org/sigilx');
    });
  });

  describe('parent_id', () => {
    it('is required', () => rejects({ ...GOOD, parentId: undefined }, 'entry: parent_id: a SPIFFE ID is required', 'parent_id'));
    it('must parse', () =>
      rejects({ ...GOOD, parentId: 'spiffe://example.org/a//b' }, 'entry: parent_id: "spiffe://example.org/a//b" is not a valid SPIFFE ID: path cannot contain empty segments'));
    it('must be in this trust domain', () =>
      rejects({ ...GOOD, parentId: 'spiffe://other.org/sigil/server' }, 'entry: parent_id: trust domain "other.org" is not this server\'s trust domain "example.org"'));
  });

  describe('selectors', () => {
    it('at least one is required', () => rejects({ ...GOOD, selectors: [] }, 'entry: selectors: at least one selector type:value is required', 'selectors'));
    it('absent is the same as none', () => rejects({ ...GOOD, selectors: undefined }, 'entry: selectors: at least one selector type:value is required'));
    it('need a type', () =>
      rejects({ ...GOOD, selectors: [{ type: 'unix', value: 'uid:1' }, { type: '', value: 'x' }] }, 'entry: selectors[1]: type is empty: write selectors as type:value, e.g. unix:uid:1000', 'selectors[1]'));
    it('need a value', () =>
      rejects({ ...GOOD, selectors: [{ type: 'unix', value: '' }] }, 'entry: selectors[0]: value is empty: write selectors as type:value, e.g. unix:uid:1000'));
    it('types have no colon', () =>
      rejects({ ...GOOD, selectors: [{ type: 'unix:uid', value: '1' }] }, 'entry: selectors[0]: type "unix:uid" contains ":": the type is the part before the first colon'));
    it('have no control characters', () =>
      rejects({ ...GOOD, selectors: [{ type: 'unix', value: 'uid:1\n' }] }, 'entry: selectors[0]: "unix:uid:1\\n" contains control characters'));
    it('must be objects', () =>
      rejects({ ...GOOD, selectors: [null as unknown as { type: string; value: string }] }, 'entry: selectors[0]: null is not a selector: write selectors as type:value, e.g. unix:uid:1000'));
  });

  describe('TTLs', () => {
    it('x509_svid_ttl must not exceed the CA maximum', () =>
      rejects({ ...GOOD, x509SvidTtl: 999999 }, "entry: x509_svid_ttl: 999999 s is above the CA's maximum of 14400 s", 'x509_svid_ttl'));
    it('jwt_svid_ttl must not exceed the CA maximum', () =>
      rejects({ ...GOOD, jwtSvidTtl: 14401 }, "entry: jwt_svid_ttl: 14401 s is above the CA's maximum of 14400 s", 'jwt_svid_ttl'));
    it('must not be negative', () =>
      rejects({ ...GOOD, x509SvidTtl: -5 }, "entry: x509_svid_ttl: -5 s is negative: use 0 for the server's default"));
    it('must be whole seconds', () => rejects({ ...GOOD, jwtSvidTtl: 1.5 }, 'entry: jwt_svid_ttl: 1.5 is not a whole number of seconds'));
    it('the maxima come from the limits', () => {
      const limits = { ...LIMITS, maxX509SvidTtl: 60, maxJwtSvidTtl: 30 };
      assert.throws(() => validateEntry({ ...GOOD, x509SvidTtl: 61 }, limits), /maximum of 60 s/);
      assert.throws(() => validateEntry({ ...GOOD, jwtSvidTtl: 31 }, limits), /maximum of 30 s/);
    });
  });

  describe('dns_names', () => {
    it('each must be a valid DNS name', () =>
      rejects({ ...GOOD, dnsNames: ['ok.example.org', 'bad..name'] }, 'entry: dns_names[1]: "bad..name" is not a valid DNS name', 'dns_names[1]'));
    it('labels may not start with a hyphen', () => rejects({ ...GOOD, dnsNames: ['-a.org'] }, 'entry: dns_names[0]: "-a.org" is not a valid DNS name'));
    it('a wildcard is only the whole first label', () => rejects({ ...GOOD, dnsNames: ['a.*.org'] }, 'entry: dns_names[0]: "a.*.org" is not a valid DNS name'));
    it('must be a list', () => rejects({ ...GOOD, dnsNames: 'a.org' as unknown as string[] }, 'entry: dns_names: must be a list of DNS names'));
  });

  describe('federates_with', () => {
    it('each must be a trust domain name', () =>
      rejects({ ...GOOD, federatesWith: ['Partner.org'] }, 'entry: federates_with[0]: "Partner.org" is not a valid trust domain name: trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores', 'federates_with[0]'));
    it('not a workload ID', () =>
      rejects({ ...GOOD, federatesWith: ['a.org', 'spiffe://b.org/web'] }, 'entry: federates_with[1]: "spiffe://b.org/web" names a workload, not a trust domain'));
    it("not this server's own", () => rejects({ ...GOOD, federatesWith: ['example.org'] }, 'entry: federates_with[0]: "example.org" is this server\'s own trust domain'));
  });

  describe('other fields', () => {
    it('hint is at most 1024 bytes (UTF-8)', () => {
      assert.equal(validateEntry({ ...GOOD, hint: 'x'.repeat(1024) }, LIMITS).hint.length, 1024);
      rejects({ ...GOOD, hint: 'é'.repeat(513) }, 'entry: hint: longer than 1024 bytes', 'hint');
    });
    it('id is at most 255 characters', () => rejects({ ...GOOD, id: 'a'.repeat(256) }, 'entry: id: longer than 255 characters', 'id'));
    it('id has a restricted character set', () =>
      rejects({ ...GOOD, id: 'a b' }, 'entry: id: "a b" may contain only letters, digits, ".", "_" and "-"'));
    it('expires_at is unix seconds', () => rejects({ ...GOOD, expiresAt: -1 }, 'entry: expires_at: -1 is not a time in unix seconds', 'expires_at'));
    it('admin and downstream are booleans', () => {
      rejects({ ...GOOD, admin: 'yes' as unknown as boolean }, 'entry: admin: "yes" is not true or false', 'admin');
      rejects({ ...GOOD, downstream: 1 as unknown as boolean }, 'entry: downstream: 1 is not true or false', 'downstream');
    });
  });
});

describe('registration: validateEntryPatch', () => {
  it('returns only the fields given, normalised', () => {
    assert.deepEqual(validateEntryPatch({ x509SvidTtl: 60, selectors: [{ type: 'b', value: '1' }, { type: 'a', value: '2' }] }, LIMITS), {
      x509SvidTtl: 60,
      selectors: [{ type: 'a', value: '2' }, { type: 'b', value: '1' }],
    });
    assert.deepEqual(validateEntryPatch({}, LIMITS), {});
  });

  it('clears with empty values: no DNS names, no hint, never expires', () => {
    assert.deepEqual(validateEntryPatch({ dnsNames: [], hint: '', expiresAt: null }, LIMITS), { dnsNames: [], hint: '', expiresAt: null });
  });

  it('applies the same rules as create', () => {
    assert.throws(() => validateEntryPatch({ selectors: [] }, LIMITS), { message: 'entry: selectors: at least one selector type:value is required' });
    assert.throws(() => validateEntryPatch({ spiffeId: 'spiffe://example.org/sigil/x' }, LIMITS), {
      message: "entry: spiffe_id: /sigil/… paths are reserved for sigil's own identities",
    });
    assert.throws(() => validateEntryPatch({ jwtSvidTtl: 20000 }, LIMITS), { message: "entry: jwt_svid_ttl: 20000 s is above the CA's maximum of 14400 s" });
  });
});
