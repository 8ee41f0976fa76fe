/** `sigil server bundle show` and `sigil server healthcheck`. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { SpiffeBundle, X509Bundle } from '../../../spiffe/bundle/index.js';
import { TD, json, ok, runSigil, useAdmin } from './harness.js';

describe('integration: admin bundle show', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('pem (the default) is the CA certificates, which openssl and X509Bundle both read', async () => {
    const r = ok(await t().sigil('bundle', 'show'));
    const expected = (await t().ca.bundle()).x509Authorities();
    const parsed = X509Bundle.parse(TD, r.stdout).x509Authorities();
    assert.deepEqual(parsed.map((c) => c.raw), expected.map((c) => c.raw));
    const openssl = spawnSync('openssl', ['x509', '-noout', '-ext', 'basicConstraints'], { input: r.stdout, encoding: 'utf8' });
    assert.equal(openssl.status, 0, openssl.stderr);
    assert.match(openssl.stdout, /CA:TRUE/);
  });

  it('spiffe is the SPIFFE bundle document, equal to the CA\'s bundle', async () => {
    const r = ok(await t().sigil('bundle', 'show', '--format', 'spiffe'));
    assert.ok(SpiffeBundle.parse(TD, r.stdout).equals(await t().ca.bundle()));
  });

  it('--output json carries the authorities and sequence number', async () => {
    const out = json<{ trust_domain: string; x509_authorities: { asn1: string }[]; jwt_authorities: { key_id: string }[]; sequence_number: string }>(
      ok(await t().sigil('bundle', 'show', '--output', 'json')),
    );
    const bundle = await t().ca.bundle();
    assert.equal(out.trust_domain, 'example.org');
    assert.equal(out.x509_authorities[0]!.asn1, bundle.x509Authorities()[0]!.raw.toString('base64'));
    assert.deepEqual(out.jwt_authorities.map((j) => j.key_id), [...bundle.jwtAuthorities().keys()]);
    assert.equal(out.sequence_number, String(bundle.sequenceNumber ?? 0n));
  });

  it('--format takes only pem or spiffe', async () => {
    const r = await t().sigil('bundle', 'show', '--format', 'der');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /option '--format <format>' argument 'der' is invalid. Allowed choices are pem, spiffe/);
  });
});

describe('integration: admin healthcheck', function () {
  this.timeout(60_000);
  const t = useAdmin();

  it('exit code 0 and "Server is healthy." when every check passes', async () => {
    const r = ok(await t().sigil('healthcheck'));
    assert.equal(r.stdout, 'Server is healthy.\n');
    assert.equal(ok(await t().sigil('healthcheck', '--verbose')).stdout, 'ok   datastore\nok   ca\nServer is healthy.\n');
  });

  it('exit code 1 naming the failing check when the server is not ready', async () => {
    t().health.report = { ready: false, checks: { datastore: { ok: false, detail: 'database is locked' }, ca: { ok: true } } };
    const r = await t().sigil('healthcheck');
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "Error: server is unhealthy: datastore: database is locked\nThe server's log says more.\n");
    const j = await t().sigil('healthcheck', '--output', 'json');
    assert.equal(j.status, 1);
    assert.deepEqual(json(j), { ready: false, checks: { datastore: { ok: false, detail: 'database is locked' }, ca: { ok: true, detail: '' } } });
  });

  it('--shallow only asks whether the server answers', async () => {
    t().health.report = { ready: false, checks: { datastore: { ok: false } } };
    assert.equal(ok(await t().sigil('healthcheck', '--shallow')).stdout, 'Server is healthy.\n');
  });

  it('a health dependency that throws is reported as unhealthy, not as a crash', async () => {
    t().health.report = new Error('ca: not started');
    const r = await t().sigil('healthcheck');
    assert.equal(r.status, 1);
    assert.equal(r.stderr, "Error: server is unhealthy: health: the health check failed: ca: not started\nThe server's log says more.\n");
  });

  it('no server on the socket: exit code 1 with what to do', async () => {
    const r = await runSigil(['server', 'healthcheck', '--admin-socket', `${t().dir}/none.sock`]);
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      `Error: the admin socket ${t().dir}/none.sock does not exist\n` +
        'Is `sigil server run` running? Pass --admin-socket (or set SIGIL_ADMIN_SOCKET) to point at its admin socket.\n',
    );
  });
});
