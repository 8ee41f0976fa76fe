/**
 * Process G of the PID-reuse test: speaks gRPC over HTTP/2 on the connection it inherited as fd 3
 * (opened by its parent A), one FetchJWTSVID per SIGUSR1, printing each call's grpc-status and the
 * SPIFFE IDs it got. SIGTERM ends it.
 */
import { connect as http2Connect } from 'node:http2';
import { Socket } from 'node:net';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadProto } from '../../../../proto/load.js';

const method = (loadProto('workload.proto')['SpiffeWorkloadAPI'] as ServiceDefinition)['FetchJWTSVID'];
if (method === undefined) throw new Error('no FetchJWTSVID');
const sock = new Socket({ fd: 3, readable: true, writable: true });
const session = http2Connect('http://localhost', { createConnection: () => sock });
session.on('error', (err) => process.stdout.write(`${JSON.stringify({ sessionError: err.message })}\n`));
let n = 0;

function call(): void {
  const id = ++n;
  const req = session.request({
    ':method': 'POST',
    ':path': method!.path,
    'content-type': 'application/grpc',
    te: 'trailers',
    'workload.spiffe.io': 'true',
  });
  const chunks: Buffer[] = [];
  let headers: Record<string, unknown> = {};
  req.on('response', (h) => (headers = h));
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('trailers', (t) => finish({ ...headers, ...t }));
  req.on('end', () => finish(headers));
  let done = false;
  function finish(h: Record<string, unknown>): void {
    if (done || h['grpc-status'] === undefined) return;
    done = true;
    const body = Buffer.concat(chunks);
    const ids = body.length > 5 ? (method!.responseDeserialize(body.subarray(5)) as { svids: { spiffe_id: string }[] }).svids.map((s) => s.spiffe_id) : [];
    process.stdout.write(`${JSON.stringify({ call: id, status: Number(h['grpc-status']), message: decodeURIComponent(String(h['grpc-message'] ?? '')), ids })}\n`);
  }
  req.end(frame(method!.requestSerialize({ audience: ['test'], spiffe_id: '' })));
}

function frame(msg: Buffer): Buffer {
  const out = Buffer.alloc(5 + msg.length);
  out.writeUInt32BE(msg.length, 1);
  msg.copy(out, 5);
  return out;
}

process.on('SIGUSR1', call);
process.on('SIGTERM', () => {
  session.destroy();
  process.exit(0);
});
setInterval(() => undefined, 1 << 30);
// Node treats SIGUSR1 as "start the inspector" until a handler exists: say when one does.
process.stdout.write(`${JSON.stringify({ ready: process.pid })}\n`);
