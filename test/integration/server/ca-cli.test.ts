/**
 * `sigil server ca show` and `sigil server ca rotate` against a real `sigil server run` (disk key
 * manager, SQLite): what they print, forced prepare and activate, the bundle following, the
 * journal surviving a restart, and the refusals an operator can act on.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { authorityIdOf } from '../../../server/ca/certificates.js';
import { serverArgs, sigil, useServers } from './harness.js';

interface Shown {
  key_manager: string;
  x509: {
    authorities: { status: string; slot: string; authority_id: string; key_location: string; issued_at: number; expires_at: number; upstream: boolean; prune_at?: number }[];
    next_prepare_at: number | null;
    next_activate_at: number;
  };
  jwt: { authorities: { status: string; slot: string; key_id: string; key_location: string }[]; next_prepare_at: number | null; next_activate_at: number };
}

const pemCerts = (pem: string): X509Certificate[] =>
  (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((p) => new X509Certificate(p));

describe('sigil server ca show|rotate', function () {
  this.timeout(90_000);
  const servers = useServers();

  it('shows the authorities, prepares and activates on demand, and keeps them across a restart', async () => {
    const dir = servers.tmp();
    const args = serverArgs(dir);
    const admin = ['--admin-socket', join(dir, 'admin.sock')];
    const ok = (...cmd: string[]): string => {
      const r = sigil('server', 'ca', ...cmd, ...admin);
      assert.equal(r.status, 0, `sigil server ca ${cmd.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    const show = (): Shown => JSON.parse(ok('show', '--output', 'json')) as Shown;
    const bundleIds = (): string[] => pemCerts(sigil('server', 'bundle', 'show', ...admin).stdout).map(authorityIdOf).sort();
    let server = servers.start(args);
    await server.ready();

    const first = show();
    assert.equal(first.key_manager, 'disk');
    const a = first.x509.authorities[0]!;
    assert.equal(first.x509.authorities.length, 1);
    assert.deepEqual([a.status, a.slot, a.upstream], ['active', 'A', false]);
    assert.equal(a.key_location, `disk:${join(dir, 'data', 'keys.json')}#x509-CA-A`);
    assert.deepEqual(bundleIds(), [a.authority_id]);
    // SPIRE's schedule on the default 24 h CA: prepare at 12 h, activate at 20 h (of a life backdated 10 s).
    assert.equal(first.x509.next_prepare_at, a.issued_at + (a.expires_at - a.issued_at) / 2);
    assert.ok(Math.abs(first.x509.next_activate_at - (a.issued_at + ((a.expires_at - a.issued_at) * 5) / 6)) <= 1);
    assert.equal(first.jwt.authorities[0]!.key_location, `disk:${join(dir, 'data', 'keys.json')}#JWT-Signer-A`);

    const text = ok('show');
    assert.match(text, /^Key manager: disk\n\nX\.509 CA: 1 authority\n\nStatus +: active\nSlot +: A\nAuthority ID +: [0-9a-f]{40}\nKey location +: disk:/);
    assert.match(text, /\nNext prepare {2}: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nNext activate : /);
    assert.match(text, /\nUpstream +: no \(self-signed\)\n/);
    assert.match(text, /\nJWT signing keys: 1 key\n\nStatus +: active\nSlot +: A\nKey ID +: [A-Za-z0-9]{32}\n/);

    // Activating with nothing prepared changes nothing and says what to do.
    const refused = sigil('server', 'ca', 'rotate', '--activate', ...admin);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /^Error: ca: no X\.509 CA and no JWT key is prepared: prepare one first \(sigil server ca rotate --prepare\)/);
    assert.equal(show().x509.authorities.length, 1);

    assert.match(ok('rotate', '--prepare'), /^Prepared the next X\.509 CA and JWT key\.\n\nKey manager: disk\n/);
    const prepared = show();
    const b = prepared.x509.authorities.find((x) => x.status === 'prepared')!;
    assert.equal(b.slot, 'B');
    assert.equal(prepared.x509.next_prepare_at, null);
    assert.deepEqual(bundleIds(), [a.authority_id, b.authority_id].sort(), 'published at once');

    const activated = JSON.parse(ok('rotate', '--activate', '--only', 'x509', '--output', 'json')) as Shown;
    assert.deepEqual(activated.x509.authorities.map((x) => [x.status, x.authority_id]), [['active', b.authority_id], ['old', a.authority_id]]);
    assert.equal(activated.x509.authorities[1]!.prune_at, a.expires_at + 3600, 'an old CA leaves the bundle an hour after it expires');
    assert.deepEqual(activated.jwt.authorities.map((k) => k.status), ['active', 'prepared'], 'the JWT key was left alone');
    assert.deepEqual(bundleIds(), [a.authority_id, b.authority_id].sort(), 'the old one stays in the bundle');

    // A restart finds all of it in the journal.
    assert.equal((await server.stop()).code, 0, server.output());
    server = servers.start(args);
    await server.ready();
    assert.deepEqual(show(), activated);

    // No flag: prepare and activate at once (incident response); B becomes old as well.
    ok('rotate', '--only', 'x509');
    const now = show();
    assert.deepEqual(now.x509.authorities.map((x) => [x.status, x.slot]), [['active', 'A'], ['old', 'B'], ['old', 'A']]);
    assert.equal(bundleIds().length, 3);
    assert.equal((await server.stop()).code, 0, server.output());
  });

  it('refuses bad flags with a usage error', async () => {
    const dir = servers.tmp();
    const admin = ['--admin-socket', join(dir, 'admin.sock')];
    const both = sigil('server', 'ca', 'rotate', '--prepare', '--activate', ...admin);
    assert.equal(both.status, 1);
    assert.match(both.stderr, /option '--prepare' cannot be used with option '--activate'/);
    const kind = sigil('server', 'ca', 'rotate', '--only', 'wit', ...admin);
    assert.equal(kind.status, 1);
    assert.match(kind.stderr, /option '--only <kind>' argument 'wit' is invalid\. Allowed choices are x509, jwt\./);
    const down = sigil('server', 'ca', 'show', ...admin);
    assert.equal(down.status, 1);
    assert.match(down.stderr, /Is `sigil server run` running\?/);
  });
});
