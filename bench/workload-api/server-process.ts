/**
 * The agent side of the Workload API benchmark, in its own process so that the clients' work does
 * not share its event loop: a WorkloadApiServer with the real unix attestor over a FakeWorkloadView
 * holding `IDENTITIES` SVIDs for the benchmark's uid. Talks to its parent over IPC: `ready` once
 * listening, `stats` on request (encodings, open connections, peak RSS), exits on `stop`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { UnixWorkloadAttestor } from '../../attestors/workload/unix/unix.js';
import { WorkloadApiServer } from '../../agent/workloadapi/index.js';
import { FakeWorkloadView, TestAuthority } from '../../test/fakes/workload-view.js';
import { quietLogger } from '../lib/agent-socket.js';

const identities = Number(process.env['IDENTITIES'] ?? '1');
const uid = process.env['CALLER_UID'] ?? '0';
const dir = mkdtempSync('/tmp/sigil-bench-wl-');
const socketPath = join(dir, 'api.sock');
const authority = await TestAuthority.create('example.org');
const view = new FakeWorkloadView(authority);
view.setIdentities(
  await Promise.all(Array.from({ length: identities }, (_, i) => authority.issue(`/bench/w${i}`, [`unix:uid:${uid}`], { createdAt: i }))),
);
const server = new WorkloadApiServer({ view, attestors: [new UnixWorkloadAttestor()], logger: quietLogger, trustDomain: 'example.org' });
await server.start(socketPath);

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

const send = (msg: object): void => {
  process.send?.(msg);
};
process.on('message', (msg: { type: string }) => {
  if (msg.type === 'stats') {
    send({ type: 'stats', encodings: server.responses.encodings, connections: server.connections, peakRssMb: peakRss / 2 ** 20 });
  } else if (msg.type === 'stop') {
    clearInterval(sampler);
    void server.stop().then(() => {
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    });
  }
});
send({ type: 'ready', socketPath });
