/**
 * Workloads under different users, as real processes: the test (root) starts node children with
 * setuid/setgid, each fetches over the socket, and each gets exactly the SVIDs whose entries its
 * kernel-reported user matches, or PermissionDenied. A uid that /etc/passwd does not name gets no
 * `unix:user` selector and still its uid-based SVIDs.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { status } from '@grpc/grpc-js';
import { startHarness, type Harness } from './harness.js';

const run = promisify(execFile);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'children', 'fetch.js');

interface ChildResult {
  pid: number;
  uid: number;
  ok: boolean;
  ids?: string[];
  code?: number;
  details?: string;
}

async function fetchAs(socketPath: string, uid: number, gid: number, kind = 'x509'): Promise<ChildResult> {
  const { stdout } = await run(process.execPath, [CHILD, socketPath, kind], { uid, gid, timeout: 30_000 });
  return JSON.parse(stdout) as ChildResult;
}

/** /etc/passwd's name for a uid, as the attestor reads it. */
function userName(uid: number): string | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , id] = line.split(':');
    if (id === String(uid)) return name;
  }
  return undefined;
}

/** A uid in 1000..1099 with no name, for the "no user selector" case. */
function unnamedUid(): number {
  for (let uid = 1001; uid < 1100; uid++) if (userName(uid) === undefined) return uid;
  throw new Error('every uid from 1001 to 1099 has a name');
}

describe('workload api: callers under different users (setuid children)', function () {
  if (process.getuid?.() !== 0) {
    it.skip('needs root to start children as other users');
    return;
  }
  let h: Harness;
  const named = 1000;
  const unnamed = unnamedUid();
  before(async () => {
    h = await startHarness();
    const name = userName(named);
    h.view.setIdentities([
      await h.authority.issue('/by-uid/named', [`unix:uid:${named}`], { createdAt: 1 }),
      await h.authority.issue('/by-gid/named', [`unix:gid:${named}`], { createdAt: 2 }),
      await h.authority.issue('/by-uid/unnamed', [`unix:uid:${unnamed}`], { createdAt: 3 }),
      await h.authority.issue('/both', [`unix:uid:${named}`, `unix:gid:${unnamed}`], { createdAt: 4 }),
      ...(name !== undefined ? [await h.authority.issue('/by-name', [`unix:user:${name}`], { createdAt: 5 })] : []),
    ]);
  });
  after(async () => h.close());

  it('the named user gets exactly its SVIDs (uid, gid and, when named, user entries)', async () => {
    const r = await fetchAs(h.socketPath, named, named);
    assert.equal(r.ok, true, JSON.stringify(r));
    const expected = ['spiffe://example.org/by-uid/named', 'spiffe://example.org/by-gid/named'];
    if (userName(named) !== undefined) expected.push('spiffe://example.org/by-name');
    assert.deepEqual(r.ids, expected);
  });

  it('a user /etc/passwd does not name gets its uid entry, and no unix:user selector', async () => {
    const r = await fetchAs(h.socketPath, unnamed, unnamed);
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.ids, ['spiffe://example.org/by-uid/unnamed']);
    const attested = h.logger.lines.find((l) => l.message.includes('caller attested') && l.fields['pid'] === r.pid);
    const selectors = attested?.fields['selectors'] as string[];
    assert.ok(selectors.includes(`unix:uid:${unnamed}`));
    assert.equal(selectors.some((s) => s.startsWith('unix:user:')), false);
  });

  it('a user no entry matches gets PermissionDenied, for X.509 and JWT alike', async () => {
    const r = await fetchAs(h.socketPath, unnamed + 1, unnamed + 1);
    assert.deepEqual([r.ok, r.code, r.details], [false, status.PERMISSION_DENIED, 'no identity issued']);
    const j = await fetchAs(h.socketPath, unnamed + 1, unnamed + 1, 'jwt');
    assert.deepEqual([j.ok, j.code], [false, status.PERMISSION_DENIED]);
  });

  it('several users at once each get their own', async () => {
    const results = await Promise.all([
      fetchAs(h.socketPath, named, named),
      fetchAs(h.socketPath, unnamed, unnamed),
      fetchAs(h.socketPath, named, named, 'jwt'),
      fetchAs(h.socketPath, unnamed, unnamed, 'jwt'),
      fetchAs(h.socketPath, unnamed + 1, unnamed + 1),
    ]);
    assert.equal(results[0]?.ids?.[0], 'spiffe://example.org/by-uid/named');
    assert.deepEqual(results[1]?.ids, ['spiffe://example.org/by-uid/unnamed']);
    assert.equal(results[2]?.ids?.[0], 'spiffe://example.org/by-uid/named');
    assert.deepEqual(results[3]?.ids, ['spiffe://example.org/by-uid/unnamed']);
    assert.equal(results[4]?.code, status.PERMISSION_DENIED);
  });

  it('the socket is reachable by an unprivileged user (0777 in a 0755 directory)', async () => {
    const r = await fetchAs(h.socketPath, 65534, 65534);
    assert.equal(r.code, status.PERMISSION_DENIED, JSON.stringify(r));
  });
});
