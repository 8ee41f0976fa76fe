/**
 * What a restarted server finds: with the disk key manager and the same journal it keeps its CA
 * and JWT key; otherwise (keys forgotten, authority gone from the bundle, too close to expiry) it
 * makes new ones in the other slot and says why.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { JOURNAL_CAP, parseJournal, withActive } from '../../../server/ca/journal.js';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { SpiffeBundle } from '../../../spiffe/bundle/index.js';
import { SpiffeId, TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { verifyX509Svid } from '../../../spiffe/x509svid/index.js';
import { FakeBundleStore } from '../../fakes/bundle-store.js';
import { FakeCaJournalStore } from '../../fakes/ca-journal-store.js';
import { openssl, startTestCa, TD, workloadKey } from '../../fakes/ca-harness.js';

const WORKLOAD = SpiffeId.fromString('spiffe://example.org/web');

describe('ServerCa: restart', function () {
  this.timeout(60_000);
  let dir: string;
  let bundles: FakeBundleStore;
  let journals: FakeCaJournalStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sigil-ca-restart-'));
    bundles = new FakeBundleStore();
    journals = new FakeCaJournalStore();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const disk = () => DiskKeyManager.open({ keysPath: join(dir, 'keys.json') });

  it('keeps the same CA certificate, key and JWT key with the disk key manager', async () => {
    const km1 = await disk();
    const first = await startTestCa({ keyManager: km1, bundles, journals });
    const before = first.ca.status();
    const svid = await first.ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    await km1.close();

    const second = await startTestCa({ keyManager: await disk(), bundles, journals });
    assert.deepEqual(second.ca.status(), before);
    assert.ok(second.ca.status().ready);
    assert.equal(bundles.writes.length, 1, 'an unchanged bundle is not written again');
    assert.equal(journals.puts, 1, 'an unchanged journal is not written again');
    assert.deepEqual(second.logger.at('info'), ['reusing the X.509 CA from the journal', 'reusing the JWT key from the journal']);
    assert.deepEqual(second.logger.at('warn'), []);

    const bundle = await second.ca.bundle();
    const [root] = bundle.x509Authorities();
    assert.equal(bundle.x509Authorities().length, 1);
    verifyX509Svid(svid.certificates, bundle);
    const again = await second.ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    assert.ok(again.certificates[0]!.verify(root!.publicKey), 'signed by the same CA key');
    verifyX509Svid(again.certificates, bundle);
  });

  it('records the CA in the journal: slot, key id, status, certificate', async () => {
    const { ca } = await startTestCa({ bundles, journals });
    const journal = parseJournal('server-1', (await journals.get('server-1'))!.data);
    const [root] = await ca.x509Authorities();
    assert.equal(journal.x509CAs.length, 1);
    const rec = journal.x509CAs[0]!;
    assert.deepEqual([rec.slot, rec.keyId, rec.status], ['A', 'x509-CA-A', 'active']);
    assert.equal(rec.certificate, root!.raw.toString('base64'));
    assert.deepEqual([rec.upstreamChain, rec.upstreamRoots], [[], []]);
    assert.match(rec.authorityId, /^[0-9a-f]{40}$/);
    const jwt = journal.jwtKeys[0]!;
    assert.deepEqual([jwt.slot, jwt.keyId, jwt.status], ['A', 'JWT-Signer-A', 'active']);
    assert.equal(jwt.notAfter - jwt.issuedAt, 24 * 3600);
  });

  it('makes a new CA in the other slot when the memory key manager forgot the key, keeping the old root', async () => {
    const first = await startTestCa({ bundles, journals });
    const second = await startTestCa({ keyManager: new MemoryKeyManager(), bundles, journals });
    const s1 = first.ca.status();
    const s2 = second.ca.status();
    assert.ok(s1.ready && s2.ready);
    assert.notEqual(s2.x509.id, s1.x509.id);
    assert.equal(s2.x509.keyLocation, 'memory:x509-CA-B');
    assert.equal(s2.jwt.keyLocation, 'memory:JWT-Signer-B');
    assert.match(second.logger.at('warn')[0]!, /^not reusing the journal's X\.509 CA [0-9a-f]{40}: key x509-CA-A of the journal's X\.509 CA is not in the memory key manager; creating a new one$/);
    const bundle = await second.ca.bundle();
    assert.equal(bundle.x509Authorities().length, 2, 'SVIDs of the old CA still verify');
    assert.equal(bundle.sequenceNumber, 2n);
    const journal = parseJournal('server-1', (await journals.get('server-1'))!.data);
    assert.deepEqual(journal.x509CAs.map((r) => [r.slot, r.status]), [['A', 'old'], ['B', 'active']]);
  });

  it('keeps the old records it has not pruned yet, and at most JOURNAL_CAP of each kind', async () => {
    for (let i = 0; i < 12; i++) await startTestCa({ keyManager: new MemoryKeyManager(), bundles, journals });
    const journal = parseJournal('server-1', (await journals.get('server-1'))!.data);
    assert.equal(journal.x509CAs.length, 12, 'each lost CA stays listed until it leaves the bundle');
    assert.equal(journal.x509CAs.filter((r) => r.status === 'active').length, 1);
    assert.equal(journal.x509CAs.at(-1)!.status, 'active');
    const many = Array.from({ length: JOURNAL_CAP }, (_, i) => ({ ...journal.x509CAs[0]!, status: 'old' as const, keyId: `k${i}` }));
    const capped = withActive([...many, { ...journal.x509CAs[0]!, status: 'prepared' }], journal.x509CAs.at(-1)!);
    assert.equal(capped.length, JOURNAL_CAP);
    assert.deepEqual(capped.slice(-2).map((r) => r.status), ['prepared', 'active'], 'the oldest old records go first');
  });

  it('replaces a CA past ⅚ of its life, and keeps one before', async () => {
    const km = await disk();
    let now = new Date('2030-01-01T00:00:00Z');
    const first = await startTestCa({ keyManager: km, bundles, journals, now: () => now });
    now = new Date('2030-01-01T19:59:00Z');
    const early = await startTestCa({ keyManager: km, bundles, journals, now: () => now });
    assert.deepEqual(early.ca.status(), first.ca.status());
    now = new Date('2030-01-01T20:00:00Z');
    const late = await startTestCa({ keyManager: km, bundles, journals, now: () => now });
    const s = late.ca.status();
    assert.ok(s.ready && s.x509.keyLocation.endsWith('#x509-CA-B'));
    assert.match(late.logger.at('warn')[0]!, /expires at 2030-01-02T00:00:00\.000Z, too soon to keep; creating a new one$/);
  });

  it('does not reuse an authority that is no longer in the bundle', async () => {
    const km = await disk();
    const first = await startTestCa({ keyManager: km, bundles, journals });
    bundles.seed({ trustDomain: TD.name, document: new SpiffeBundle(TD, { sequenceNumber: 9n }).marshal(), sequence: 9n });
    const second = await startTestCa({ keyManager: km, bundles, journals });
    const [s1, s2] = [first.ca.status(), second.ca.status()];
    assert.ok(s1.ready && s2.ready && s1.x509.id !== s2.x509.id && s1.jwt.id !== s2.jwt.id);
    assert.match(second.logger.at('warn')[0]!, /it is not in the trust domain bundle \(revoked, or the database was restored\)/);
    assert.equal((await second.ca.bundle()).sequenceNumber, 10n);
  });

  it('does not reuse a CA of another trust domain', async () => {
    const km = await disk();
    await startTestCa({ keyManager: km, bundles, journals });
    const other = await startTestCa({ keyManager: km, bundles, journals, trustDomain: TrustDomain.fromString('other.org') });
    assert.match(other.logger.at('warn')[0]!, /the journal's X\.509 CA is not for trust domain "other\.org"/);
  });

  it('keeps the intermediate of an upstream CA across a restart', async () => {
    openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key',
      '-out', 'root.pem', '-days', '30', '-subj', '/CN=Root', '-addext', 'basicConstraints=critical,CA:TRUE');
    const upstream = { certFile: join(dir, 'root.pem'), keyFile: join(dir, 'root.key'), bundleFile: join(dir, 'root.pem') };
    const km = await disk();
    const first = await startTestCa({ keyManager: km, bundles, journals, upstream });
    const a = await first.ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    const second = await startTestCa({ keyManager: km, bundles, journals, upstream });
    const b = await second.ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    assert.ok(a.certificates[1]!.raw.equals(b.certificates[1]!.raw));
    verifyX509Svid(b.certificates, await second.ca.bundle());
  });

  it('refuses to start on a journal it cannot read, naming the server instance', async () => {
    await journals.put('server-1', '{"version":1,"x509CAs":[{"slot":"C"}],"jwtKeys":[]}');
    await assert.rejects(startTestCa({ bundles, journals }), (err: unknown) => {
      assert.ok(err instanceof CaError);
      assert.equal(err.code, CaErrorCode.corrupt);
      assert.equal(
        err.message,
        'ca: the CA journal of server instance "server-1" is unreadable: x509CAs[0].slot is missing or invalid; ' +
          'restore the database, or delete the journal to have the server create a new CA',
      );
      return true;
    });
  });
});
