/**
 * Rotation of the X.509 CA and the JWT key on a fake clock: the next authority is prepared at ½ of
 * the active one's life and published at once, activated at ⅚, and the old one leaves the bundle
 * once it has expired (plus the margin); restarts in the middle resume from the journal; an
 * upstream root stays; two servers publishing into one bundle each prune only their own.
 */
import assert from 'node:assert/strict';
import type { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthorityView, CaAuthorities, ServerCa } from '../../../server/ca/index.js';
import { authorityIdOf } from '../../../server/ca/certificates.js';
import { CaError, CaErrorCode } from '../../../server/ca/errors.js';
import { parseJournal } from '../../../server/ca/journal.js';
import { DiskKeyManager } from '../../../server/keymanager/disk/disk.js';
import { MemoryKeyManager } from '../../../server/keymanager/memory/memory.js';
import { Status } from '../../../spiffe/errors.js';
import { parseAndValidate } from '../../../spiffe/jwtsvid/index.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { verifyX509Svid } from '../../../spiffe/x509svid/index.js';
import { FakeBundleStore } from '../../fakes/bundle-store.js';
import { FakeCaJournalStore } from '../../fakes/ca-journal-store.js';
import { openssl, startTestCa, workloadKey } from '../../fakes/ca-harness.js';

const WORKLOAD = SpiffeId.fromString('spiffe://example.org/web');
const T0 = new Date('2030-01-01T00:00:00Z');
const HOUR = 3600_000;

const at = (ms: number): Date => new Date(T0.getTime() + ms);
const x509Of = (a: CaAuthorities, status: string): AuthorityView[] => a.authorities.filter((v) => v.kind === 'x509' && v.status === status);
const jwtOf = (a: CaAuthorities, status: string): AuthorityView[] => a.authorities.filter((v) => v.kind === 'jwt' && v.status === status);
const one = <T>(list: T[]): T => {
  assert.equal(list.length, 1, JSON.stringify(list));
  return list[0]!;
};

/** The bundle root a new SVID verifies against at `time`. */
async function svidIssuer(ca: ServerCa, time: Date): Promise<X509Certificate> {
  const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey, ttlSeconds: 600 });
  return verifyX509Svid(svid.certificates, await ca.bundle(), { time }).chains[0]!.at(-1)!;
}

describe('ServerCa: rotation', function () {
  this.timeout(60_000);
  let now: Date;
  let dir: string;
  let bundles: FakeBundleStore;
  let journals: FakeCaJournalStore;
  const clock = () => now;
  beforeEach(() => {
    now = T0;
    dir = mkdtempSync(join(tmpdir(), 'sigil-ca-rotation-'));
    bundles = new FakeBundleStore();
    journals = new FakeCaJournalStore();
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const disk = () => DiskKeyManager.open({ keysPath: join(dir, 'keys.json') });
  const sequence = async (ca: ServerCa): Promise<bigint> => (await ca.bundle()).sequenceNumber!;
  /** The bundle store refuses writes, as a database that is down, until the returned function is called. */
  const failBundleWrites = (): (() => void) => {
    const update = bundles.update.bind(bundles);
    let failing = true;
    bundles.update = (td, fn) => (failing ? Promise.reject(new Error('database unavailable')) : update(td, fn));
    return () => {
      failing = false;
    };
  };

  it('prepares at ½ of the life, publishes at once, activates at ⅚, prunes after expiry + margin', async () => {
    const { ca } = await startTestCa({ bundles, journals, now: clock });
    const first = ca.authorities();
    const a = one(x509Of(first, 'active'));
    const aJwt = one(jwtOf(first, 'active'));
    const life = a.notAfter.getTime() - a.issuedAt.getTime();
    assert.equal(first.x509.prepareAt!.getTime(), Math.floor(a.issuedAt.getTime() + life / 2));
    assert.equal(first.x509.activateAt.getTime(), Math.floor(a.issuedAt.getTime() + (life * 5) / 6));
    assert.equal(a.slot, 'A');

    now = new Date(first.x509.prepareAt!.getTime() - 1000);
    await ca.rotateIfDue();
    assert.equal(x509Of(ca.authorities(), 'prepared').length, 0);
    const seq = await sequence(ca);
    const rootA = one([...(await ca.bundle()).x509Authorities()]);

    // Both kinds count their life from when they were made, not from the backdated notBefore.
    assert.deepEqual(first.jwt, first.x509);
    assert.equal(a.issuedAt.getTime(), T0.getTime());
    now = first.jwt.prepareAt!;
    await ca.rotateIfDue();
    const prepared = ca.authorities();
    const b = one(x509Of(prepared, 'prepared'));
    const bJwt = one(jwtOf(prepared, 'prepared'));
    assert.equal(b.slot, 'B');
    assert.match(b.keyLocation, /^memory:x509-CA-B$/);
    assert.equal(prepared.x509.prepareAt, undefined);
    // Published at once, one bundle change per kind, while A keeps signing.
    const bundle = await ca.bundle();
    assert.equal(bundle.x509Authorities().length, 2);
    assert.deepEqual([...bundle.jwtAuthorities().keys()].sort(), [aJwt.id, bJwt.id].sort());
    assert.equal(await sequence(ca), seq + 2n);
    assert.equal((await svidIssuer(ca, now)).fingerprint256, rootA.fingerprint256);
    const jwtBefore = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['x'] });
    assert.equal(jwtBefore.keyId, aJwt.id);

    now = new Date(first.x509.activateAt.getTime() - 1000);
    await ca.rotateIfDue();
    const lastOfA = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey });
    now = first.jwt.activateAt;
    await ca.rotateIfDue();
    const activated = ca.authorities();
    assert.equal(one(x509Of(activated, 'active')).id, b.id);
    assert.equal(one(x509Of(activated, 'old')).id, a.id);
    assert.equal(one(jwtOf(activated, 'active')).id, bJwt.id);
    assert.equal(await sequence(ca), seq + 2n, 'activation changes nothing in the bundle');
    const issuerB = await svidIssuer(ca, now);
    assert.notEqual(issuerB.fingerprint256, rootA.fingerprint256);
    const jwtAfter = await ca.issueJwtSvid({ spiffeId: WORKLOAD, audience: ['x'] });
    assert.equal(jwtAfter.keyId, bJwt.id);
    // What A signed last is capped at A's notAfter and verifies until then against the bundle.
    assert.ok(lastOfA.expiresAt <= a.notAfter);
    verifyX509Svid(lastOfA.certificates, await ca.bundle(), { time: new Date(lastOfA.expiresAt.getTime() - 1000) });
    await parseAndValidate(jwtBefore.token, await ca.bundle(), ['x'], { now: jwtBefore.issuedAt });

    const pruneAt = one(x509Of(activated, 'old')).pruneAt!;
    assert.ok(pruneAt > a.notAfter && pruneAt.getTime() - a.notAfter.getTime() <= HOUR);
    now = new Date(pruneAt.getTime() - 1000);
    await ca.rotateIfDue();
    assert.ok((await ca.bundle()).hasX509Authority(rootA));
    now = pruneAt;
    const beforePrune = await sequence(ca);
    await ca.rotateIfDue();
    const pruned = await ca.bundle();
    assert.ok(!pruned.hasX509Authority(rootA));
    assert.ok(!pruned.hasJwtAuthority(aJwt.id));
    assert.ok(pruned.hasJwtAuthority(bJwt.id) && pruned.hasX509Authority(issuerB));
    assert.equal(x509Of(ca.authorities(), 'old').length, 0);
    assert.equal(pruned.sequenceNumber, beforePrune + 1n, 'one change prunes both kinds');
    // B passed ½ of its life at A's end: its successor is prepared, in slot A again.
    assert.equal(one(x509Of(ca.authorities(), 'prepared')).slot, 'A');
  });

  it('resumes a rotation after a restart: the prepared key is reused, the old one still pruned', async () => {
    const km = await disk();
    const first = await startTestCa({ keyManager: km, bundles, journals, now: clock });
    const schedule = first.ca.authorities();
    now = schedule.x509.prepareAt!;
    await first.ca.rotateIfDue();
    const prepared = first.ca.authorities();

    now = at(13 * HOUR);
    const second = await startTestCa({ keyManager: km, bundles, journals, now: clock });
    assert.deepEqual(
      second.ca.authorities().authorities.map((v) => [v.kind, v.status, v.id, v.slot]),
      prepared.authorities.map((v) => [v.kind, v.status, v.id, v.slot]),
    );
    assert.match(second.logger.at('info').join('\n'), /reusing the prepared X\.509 CA from the journal/);

    now = schedule.x509.activateAt;
    await second.ca.rotateIfDue();
    assert.equal(one(x509Of(second.ca.authorities(), 'active')).id, one(x509Of(prepared, 'prepared')).id);

    // Restarted after the activation: the old one is still known, and pruned when due.
    now = at(22 * HOUR);
    const third = await startTestCa({ keyManager: km, bundles, journals, now: clock });
    const old = one(x509Of(third.ca.authorities(), 'old'));
    assert.equal(old.id, one(x509Of(schedule, 'active')).id);
    now = old.pruneAt!;
    await third.ca.rotateIfDue();
    assert.equal(x509Of(third.ca.authorities(), 'old').length, 0);
    assert.equal((await third.ca.bundle()).x509Authorities().length, 2, 'the active and its new prepared successor');
    await km.close();
  });

  it('activates the prepared one at once when restarted past ⅚', async () => {
    const km = await disk();
    const first = await startTestCa({ keyManager: km, bundles, journals, now: clock });
    now = first.ca.authorities().x509.prepareAt!;
    await first.ca.rotateIfDue();
    const preparedId = one(x509Of(first.ca.authorities(), 'prepared')).id;
    now = at(21 * HOUR);
    const second = await startTestCa({ keyManager: km, bundles, journals, now: clock });
    assert.equal(one(x509Of(second.ca.authorities(), 'active')).id, preparedId);
    assert.match(second.logger.at('warn')[0]!, /too soon to keep; activating the prepared one$/);
    await km.close();
  });

  it('with the memory key manager, a restart keeps what it published until it expires', async () => {
    const first = await startTestCa({ keyManager: new MemoryKeyManager(), bundles, journals, now: clock });
    now = first.ca.authorities().x509.prepareAt!;
    await first.ca.rotateIfDue();
    const before = first.ca.authorities();
    const second = await startTestCa({ keyManager: new MemoryKeyManager(), bundles, journals, now: clock });
    const after = second.ca.authorities();
    assert.equal(x509Of(after, 'old').length, 2, 'the lost active and the lost prepared are old');
    assert.equal(x509Of(after, 'prepared').length, 0);
    assert.notEqual(one(x509Of(after, 'active')).id, one(x509Of(before, 'active')).id);
    assert.equal((await second.ca.bundle()).x509Authorities().length, 3);
    now = new Date(Math.max(...x509Of(after, 'old').map((v) => v.pruneAt!.getTime())));
    await second.ca.rotateIfDue();
    assert.equal(x509Of(second.ca.authorities(), 'old').length, 0);
  });

  it('rotates an upstream-signed CA and leaves the upstream root in the bundle', async () => {
    openssl(dir, 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'root.key',
      '-out', 'root.pem', '-days', '3650', '-subj', '/O=Corp/CN=Corp Root', '-addext', 'basicConstraints=critical,CA:TRUE',
      '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    const upstream = { certFile: join(dir, 'root.pem'), keyFile: join(dir, 'root.key'), bundleFile: join(dir, 'root.pem') };
    now = new Date();
    const { ca } = await startTestCa({ bundles, journals, now: clock, upstream });
    const first = ca.authorities();
    const root = one([...(await ca.bundle()).x509Authorities()]);
    now = first.x509.prepareAt!;
    await ca.rotateIfDue();
    const b = one(x509Of(ca.authorities(), 'prepared'));
    assert.ok(b.upstream);
    assert.equal((await ca.bundle()).x509Authorities().length, 1, 'the upstream root is all the bundle needs');
    now = first.x509.activateAt;
    await ca.rotateIfDue();
    const svid = await ca.issueX509Svid({ spiffeId: WORKLOAD, publicKey: workloadKey().publicKey, ttlSeconds: 60 });
    assert.equal(svid.certificates.length, 2);
    assert.equal(svid.certificates[1]!.subjectAltName, 'URI:spiffe://example.org');
    verifyX509Svid(svid.certificates, await ca.bundle(), { time: now });
    now = one(x509Of(ca.authorities(), 'old')).pruneAt!;
    await ca.rotateIfDue();
    assert.equal(x509Of(ca.authorities(), 'old').length, 0);
    assert.ok((await ca.bundle()).hasX509Authority(root), 'the upstream root stays');
  });

  it('two servers publishing into one bundle each prune their own authorities, never the other\'s before it expired an hour ago', async () => {
    const one1 = await startTestCa({ bundles, journals, now: clock, serverInstanceId: 'server-1' });
    now = at(6 * HOUR);
    const two = await startTestCa({ bundles, journals, now: clock, serverInstanceId: 'server-2' });
    const twoFirst = one(x509Of(two.ca.authorities(), 'active'));
    const twoJwt = one(jwtOf(two.ca.authorities(), 'active'));
    for (const ms of [12, 18, 20, 25, 27].map((h) => h * HOUR)) {
      now = at(ms);
      await one1.ca.rotateIfDue();
      await two.ca.rotateIfDue();
    }
    // server-1's first CA is gone; server-2's first (active until 26 h, expiring at 30 h) is not.
    const bundle = await one1.ca.bundle();
    assert.equal(x509Of(one1.ca.authorities(), 'old').length, 0);
    const twoOld = one(x509Of(two.ca.authorities(), 'old'));
    assert.equal(twoOld.id, twoFirst.id);
    assert.ok(bundle.hasJwtAuthority(twoJwt.id));
    const ids = new Set(bundle.x509Authorities().map(authorityIdOf));
    for (const ca of [one1.ca, two.ca]) {
      for (const v of ca.authorities().authorities) {
        assert.ok(v.kind === 'x509' ? ids.has(v.id) : bundle.hasJwtAuthority(v.id), `${v.kind} ${v.id} (${v.status}) in the bundle`);
      }
    }
    assert.equal(bundle.x509Authorities().length, 2 + 2, "server-1's active and prepared, server-2's old and active");
    now = new Date(twoOld.pruneAt!.getTime() - 1000);
    await one1.ca.rotateIfDue();
    await two.ca.rotateIfDue();
    assert.ok((await one1.ca.bundle()).hasJwtAuthority(twoJwt.id), "neither prunes server-2's key before its time");
    now = twoOld.pruneAt!;
    await two.ca.rotateIfDue();
    assert.ok(!(await one1.ca.bundle()).hasJwtAuthority(twoJwt.id));
  });

  it('a server gone for good: another takes its authorities, JWT key too, out of the bundle an hour after they expired', async () => {
    const gone = await startTestCa({ bundles, journals, now: clock, serverInstanceId: 'gone' });
    const goneX509 = one(x509Of(gone.ca.authorities(), 'active'));
    const goneJwt = one(jwtOf(gone.ca.authorities(), 'active'));
    const goneJournal = (await journals.get('gone'))!.data;
    const live = await startTestCa({ bundles, journals, now: clock, serverInstanceId: 'live' });
    const inBundle = async (): Promise<{ x509: boolean; jwt: boolean }> => {
      const b = await live.ca.bundle();
      return { x509: b.x509Authorities().map(authorityIdOf).includes(goneX509.id), jwt: b.hasJwtAuthority(goneJwt.id) };
    };
    // 'gone' never runs again; its CA and JWT key expire at 24 h.
    for (const h of [12, 20, 24, 24.9]) {
      now = at(h * HOUR);
      await live.ca.rotateIfDue();
      assert.deepEqual(await inBundle(), { x509: true, jwt: true }, `kept at ${h} h`);
    }
    now = at(25 * HOUR);
    await live.ca.rotateIfDue();
    assert.deepEqual(await inBundle(), { x509: false, jwt: false });
    assert.match(live.logger.at('info').join('\n'), new RegExp(`removed the expired JWT key ${goneJwt.id} of server instance gone from the bundle`));
    assert.equal((await journals.get('gone'))!.data, goneJournal, "the other server's journal is left alone");
    // The live server's own authorities are all still there.
    const ids = new Set((await live.ca.bundle()).x509Authorities().map(authorityIdOf));
    for (const v of x509Of(live.ca.authorities(), 'active').concat(x509Of(live.ca.authorities(), 'prepared'))) assert.ok(ids.has(v.id));
    const sequence = (await live.ca.bundle()).sequenceNumber;
    now = at(26 * HOUR);
    await live.ca.rotateIfDue();
    assert.equal((await live.ca.bundle()).sequenceNumber, sequence, 'nothing left to remove: the bundle is not written again');
  });

  it('forces prepare and activate; refuses to activate with nothing prepared', async () => {
    const { ca } = await startTestCa({ bundles, journals, now: clock });
    await assert.rejects(ca.rotate({ prepare: false, activate: true }), (err: unknown) => {
      assert.ok(err instanceof CaError);
      assert.equal(err.code, CaErrorCode.rotation);
      assert.equal(err.status, Status.FAILED_PRECONDITION);
      assert.match(err.message, /no X\.509 CA and no JWT key is prepared: prepare one first \(sigil server ca rotate --prepare\)/);
      return true;
    });
    const a = one(x509Of(ca.authorities(), 'active'));
    await ca.rotate({ prepare: true, activate: false, kinds: ['x509'] });
    const b = one(x509Of(ca.authorities(), 'prepared'));
    assert.equal(jwtOf(ca.authorities(), 'prepared').length, 0);
    // Preparing again replaces B, which becomes old (it is in the bundle, and leaves it when it expires).
    await ca.rotate({ prepare: true, activate: false, kinds: ['x509'] });
    const c = one(x509Of(ca.authorities(), 'prepared'));
    assert.notEqual(c.id, b.id);
    assert.equal(one(x509Of(ca.authorities(), 'old')).id, b.id);
    await ca.rotate({ prepare: false, activate: true, kinds: ['x509'] });
    assert.equal(one(x509Of(ca.authorities(), 'active')).id, c.id);
    assert.deepEqual(x509Of(ca.authorities(), 'old').map((v) => v.id).sort(), [a.id, b.id].sort());
    // Both at once: the incident-response rotation.
    const jwtA = one(jwtOf(ca.authorities(), 'active'));
    await ca.rotate({ prepare: true, activate: true });
    assert.notEqual(one(jwtOf(ca.authorities(), 'active')).id, jwtA.id);
    const stored = parseJournal('server-1', (await journals.get('server-1'))!.data);
    assert.equal(stored.x509CAs.filter((r) => r.status === 'active').length, 1);
    assert.equal(stored.jwtKeys.at(-1)!.status, 'active');
  });

  it('publishes a prepared authority on the next step when the bundle could not be written', async () => {
    const { ca } = await startTestCa({ bundles, journals, now: clock });
    const schedule = ca.authorities();
    const bundleBack = failBundleWrites();
    now = schedule.jwt.prepareAt!;
    await assert.rejects(ca.rotateIfDue(), /database unavailable/);
    const b = one(x509Of(ca.authorities(), 'prepared'));
    assert.equal((await ca.bundle()).x509Authorities().length, 1, 'recorded as prepared, not yet published');
    bundleBack();
    await ca.rotateIfDue();
    assert.equal((await ca.bundle()).x509Authorities().length, 2);
    assert.ok((await ca.bundle()).hasJwtAuthority(one(jwtOf(ca.authorities(), 'prepared')).id));
    assert.equal(one(x509Of(ca.authorities(), 'prepared')).id, b.id, 'the same authority, not a new one');
  });

  it('activates an authority that reached the bundle late only a lead after it got there, never in the same step', async () => {
    const { ca } = await startTestCa({ bundles, journals, now: clock });
    const schedule = ca.authorities();
    const a = one(x509Of(schedule, 'active'));
    const jwtA = one(jwtOf(schedule, 'active'));
    const bundleBack = failBundleWrites();
    now = schedule.x509.prepareAt!;
    await assert.rejects(ca.rotateIfDue(), /database unavailable/);
    const b = one(x509Of(ca.authorities(), 'prepared'));
    assert.equal(jwtOf(ca.authorities(), 'prepared').length, 0, 'the JWT key was not reached');
    // The database comes back only once the activation is due: the X.509 CA recorded as prepared is
    // published now, the JWT key prepared now; neither may sign before agents can have them.
    const back = new Date(schedule.x509.activateAt.getTime() + 1000);
    now = back;
    bundleBack();
    await ca.rotateIfDue();
    const bundle = await ca.bundle();
    assert.ok(bundle.x509Authorities().map(authorityIdOf).includes(b.id));
    const jwtB = one(jwtOf(ca.authorities(), 'prepared'));
    assert.ok(bundle.hasJwtAuthority(jwtB.id));
    assert.equal(one(x509Of(ca.authorities(), 'active')).id, a.id, 'not activated in the step that published it');
    assert.equal(ca.authorities().x509.activateAt.getTime(), back.getTime() + 60_000, 'ca show says when');
    assert.equal(one(jwtOf(ca.authorities(), 'active')).id, jwtA.id);
    now = new Date(back.getTime() + 59_000);
    await ca.rotateIfDue();
    assert.equal(one(x509Of(ca.authorities(), 'active')).id, a.id, 'a minute of lead (a tenth of 8 h, at most a minute)');
    now = new Date(back.getTime() + 60_000);
    await ca.rotateIfDue();
    assert.equal(one(x509Of(ca.authorities(), 'active')).id, b.id);
    assert.equal(one(jwtOf(ca.authorities(), 'active')).id, jwtB.id);
  });

  it('the timer wakes when a step is due: a CA of 3 s is prepared, activated and pruned on the real clock', async () => {
    const { ca, logger } = await startTestCa({ bundles, journals, caTtlSeconds: 3, x509SvidTtlSeconds: 1, jwtSvidTtlSeconds: 1 });
    const first = one(x509Of(ca.authorities(), 'active'));
    const rotation = ca.startRotation();
    try {
      const until = async (what: string, done: () => boolean): Promise<void> => {
        const deadline = Date.now() + 15_000;
        while (!done()) {
          assert.ok(Date.now() < deadline, `${what} did not happen: ${JSON.stringify(ca.authorities())}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      await until('prepare', () => x509Of(ca.authorities(), 'prepared').length > 0);
      await until('activation', () => one(x509Of(ca.authorities(), 'active')).id !== first.id);
      await until('pruning', () => !ca.authorities().authorities.some((v) => v.id === first.id));
      const left = (await ca.bundle()).x509Authorities().map(authorityIdOf);
      assert.ok(!left.includes(first.id), JSON.stringify({ left, first, now: new Date(), all: ca.authorities() }));
      assert.match(logger.at('info').join('\n'), /removed the expired X\.509 CA [0-9a-f]{40} from the bundle/);
    } finally {
      await rotation.stop();
    }
  });
});
