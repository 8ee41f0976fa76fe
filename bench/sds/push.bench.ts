/**
 * Envoy SDS latency on the agent socket, beside an empty unary call (grpc.health.v1 Check) on the
 * same socket and connection, rounds interleaved:
 *   - push: an SVID rotates in the cache → the new secret arrives on an open StreamSecrets stream
 *     (and on an open DeltaSecrets stream), ACKed each time as Envoy does;
 *   - first: a new StreamSecrets stream (attestation, subscription, build) → its first response.
 * Server (WorkloadApiServer + SDS over a FakeWorkloadView, real unix attestor) and client share this
 * process, so both columns carry the same scheduling; the cache's own coalescing is not included.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, credentials, status, type ClientDuplexStream } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { UnixWorkloadAttestor } from '../../attestors/workload/unix/unix.js';
import { DEFAULT_SDS_SETTINGS, SECRET_TYPE_URL, sdsDefinition, sdsService } from '../../agent/sds/index.js';
import { WorkloadApiServer } from '../../agent/workloadapi/index.js';
import type { Identity } from '../../agent/cache/workload-view.js';
import { FakeWorkloadView, TestAuthority } from '../../test/fakes/workload-view.js';
import { emptyCall, quietLogger } from '../lib/agent-socket.js';
import { reportLatency, summarize } from '../lib/latency.js';

const ROUNDS = 200;
const FIRST_ROUNDS = 100;
const ME = `unix:uid:${process.getuid?.() ?? 0}`;
type Method = MethodDefinition<object, object>;
const sds = sdsDefinition() as unknown as Record<string, Method>;

interface Res {
  nonce: string;
  version_info?: string;
}

const dir = mkdtempSync('/tmp/sigil-bench-sds-');
const authority = await TestAuthority.create('example.org');
const view = new FakeWorkloadView(authority);
// Pre-issued, so that signing is not what is measured.
const pool: Identity[] = await Promise.all(Array.from({ length: 8 }, () => authority.issue('/envoy', [ME], { entryId: 'e1' })));
view.setIdentities([pool[0]!]);
const server = new WorkloadApiServer({
  view, attestors: [new UnixWorkloadAttestor()], logger: quietLogger, trustDomain: 'example.org',
  services: [sdsService({ settings: DEFAULT_SDS_SETTINGS })],
});
await server.start(join(dir, 'api.sock'));
const client = new Client(`unix://${join(dir, 'api.sock')}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });

/** A bidi stream whose next response resolves `next()`; every response is ACKed as Envoy does. */
function open(method: 'StreamSecrets' | 'DeltaSecrets'): { call: ClientDuplexStream<object, Res>; next(): Promise<number> } {
  const m = sds[method]!;
  const call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<object, Res>;
  let waiter: ((t: number) => void) | undefined;
  call.on('data', (res: Res) => {
    const t = performance.now();
    call.write(method === 'StreamSecrets'
      ? { type_url: SECRET_TYPE_URL, resource_names: ['default'], version_info: res.version_info, response_nonce: res.nonce }
      : { type_url: SECRET_TYPE_URL, response_nonce: res.nonce });
    waiter?.(t);
    waiter = undefined;
  });
  call.on('error', (err: Error & { code?: number }) => {
    if (err.code !== status.CANCELLED) console.error(`${method}: ${err.message}`);
  });
  return { call, next: () => new Promise((resolve) => (waiter = resolve)) };
}

try {
  const sotw = open('StreamSecrets');
  const delta = open('DeltaSecrets');
  const firstSotw = sotw.next();
  sotw.call.write({ type_url: SECRET_TYPE_URL, resource_names: ['default'] });
  await firstSotw;
  const firstDelta = delta.next();
  delta.call.write({ type_url: SECRET_TYPE_URL, resource_names_subscribe: ['default'] });
  await firstDelta;

  const base: number[] = [];
  const push: number[] = [];
  const pushDelta: number[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    base.push(await emptyCall(client));
    const a = sotw.next();
    const b = delta.next();
    const t0 = performance.now();
    view.setIdentities([pool[i % pool.length]!]);
    push.push((await a) - t0);
    pushDelta.push((await b) - t0);
  }
  sotw.call.cancel();
  delta.call.cancel();

  const baseFirst: number[] = [];
  const first: number[] = [];
  for (let i = 0; i < FIRST_ROUNDS; i++) {
    baseFirst.push(await emptyCall(client));
    const s = open('StreamSecrets');
    const got = s.next();
    const t0 = performance.now();
    s.call.write({ type_url: SECRET_TYPE_URL, resource_names: ['default'] });
    first.push((await got) - t0);
    s.call.cancel();
  }
  reportLatency('sds: Envoy SDS on the agent socket (server and client in this process)', [
    { baseline: summarize('empty unary call (health Check)', base), measured: summarize('SVID rotated → StreamSecrets push', push) },
    { baseline: summarize('empty unary call (health Check)', base), measured: summarize('SVID rotated → DeltaSecrets push', pushDelta) },
    { baseline: summarize('empty unary call (health Check)', baseFirst), measured: summarize('new StreamSecrets stream → first secret', first) },
  ]);
} finally {
  client.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
