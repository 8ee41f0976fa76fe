/**
 * A workload for the multi-user tests, run as a child process under another uid: fetches over the
 * socket given as argv[2] with argv[3] (`x509` or `jwt`) and prints one JSON line with its own pid
 * and uid and either the SPIFFE IDs it got or the gRPC status it was refused with.
 */
import type { JwtSvidResponseMsg, X509SvidResponseMsg } from '../../../../agent/workloadapi/messages.js';
import { TestWorkloadClient } from '../workload-client.js';

const [socketPath, kind = 'x509'] = process.argv.slice(2);
if (socketPath === undefined) throw new Error('usage: fetch.js SOCKET [x509|jwt]');
const client = new TestWorkloadClient(socketPath);
const me = { pid: process.pid, uid: process.getuid?.(), gid: process.getgid?.() };
try {
  const ids =
    kind === 'jwt'
      ? (await client.unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience: ['test'] })).svids.map((s) => s.spiffe_id)
      : (await client.first<X509SvidResponseMsg>('FetchX509SVID', { deadlineMs: 10_000 })).svids.map((s) => s.spiffe_id);
  process.stdout.write(`${JSON.stringify({ ...me, ok: true, ids })}\n`);
} catch (err) {
  const e = err as { code?: number; details?: string };
  process.stdout.write(`${JSON.stringify({ ...me, ok: false, code: e.code, details: e.details })}\n`);
} finally {
  client.close();
}
