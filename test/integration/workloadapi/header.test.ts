/**
 * The security header on every RPC (missing, wrong case, sent twice → InvalidArgument, before any
 * attestation), the WIT profile answered Unimplemented, failed attestation answered Unavailable, and
 * a malformed request that ends its call and nothing else.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { status } from '@grpc/grpc-js';
import type { Selector, WorkloadAttestor } from '../../../attestors/workload/workload-attestor.js';
import { startHarness, type Harness } from './harness.js';
import { StreamRecorder, TestWorkloadClient, type HeaderMode } from './workload-client.js';

const STREAMS = ['FetchX509SVID', 'FetchX509Bundles', 'FetchJWTBundles', 'FetchWITSVID', 'FetchWITBundles'];
const UNARY: [string, object][] = [
  ['FetchJWTSVID', { audience: ['a'] }],
  ['ValidateJWTSVID', { audience: 'a', svid: 'x.y.z' }],
];

class CountingAttestor implements WorkloadAttestor {
  readonly type = 'counting';
  calls = 0;
  async attest(): Promise<Selector[]> {
    this.calls++;
    return [];
  }
}

function rejectsWith(p: Promise<unknown>, code: number, details?: string | RegExp): Promise<void> {
  return assert.rejects(p, (err: { code: number; details: string }) => {
    assert.equal(err.code, code, `${err.code} ${err.details}`);
    if (typeof details === 'string') assert.equal(err.details, details);
    else if (details !== undefined) assert.match(err.details, details);
    return true;
  });
}

describe('workload api: security header, WIT, attestation failures, malformed requests', () => {
  let h: Harness;
  let client: TestWorkloadClient;
  const attestor = new CountingAttestor();
  before(async () => {
    h = await startHarness({ attestors: [attestor] });
    client = new TestWorkloadClient(h.socketPath);
  });
  after(async () => {
    client.close();
    await h.close();
  });

  for (const mode of ['missing', 'wrong', 'twice'] as HeaderMode[]) {
    for (const method of STREAMS) {
      it(`${method} with the header ${mode}: InvalidArgument`, async () => {
        await rejectsWith(client.first(method, { header: mode }), status.INVALID_ARGUMENT, 'security header missing from request');
      });
    }
    for (const [method, req] of UNARY) {
      it(`${method} with the header ${mode}: InvalidArgument`, async () => {
        await rejectsWith(client.unary(method, req, { header: mode }), status.INVALID_ARGUMENT, 'security header missing from request');
      });
    }
  }

  it('refuses a request without the header before attesting the caller', async () => {
    const before = attestor.calls;
    await rejectsWith(client.first('FetchX509SVID', { header: 'missing' }), status.INVALID_ARGUMENT);
    assert.equal(attestor.calls, before);
  });

  for (const method of ['FetchWITSVID', 'FetchWITBundles']) {
    it(`${method}: Unimplemented`, async () => {
      await rejectsWith(client.first(method), status.UNIMPLEMENTED, /WIT-SVID profile/);
    });
  }

  it('a request body that is not protobuf ends that call; the server keeps serving', async () => {
    const session = connect('http://localhost', { createConnection: () => netConnect(h.socketPath) });
    try {
      const code = await new Promise<string>((resolve, reject) => {
        const req = session.request({
          ':method': 'POST',
          ':path': '/SpiffeWorkloadAPI/FetchJWTSVID',
          'content-type': 'application/grpc',
          te: 'trailers',
          'workload.spiffe.io': 'true',
        });
        req.on('trailers', (t) => resolve(String(t['grpc-status'])));
        req.on('response', (hdrs) => {
          if (hdrs['grpc-status'] !== undefined) resolve(String(hdrs['grpc-status']));
        });
        req.on('error', reject);
        req.resume();
        // A length-prefixed message whose bytes are an invalid protobuf (truncated varint).
        req.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 0xff, 0xff]));
      });
      assert.notEqual(code, '0');
    } finally {
      session.close();
    }
    const res = await client.health();
    assert.equal(res.status, 'SERVING');
  });
});

describe('workload api: attestation outcomes', () => {
  it('answers Unavailable "workload attestation failed" when every attestor fails, and logs each', async () => {
    const failing: WorkloadAttestor = { type: 'broken', attest: async () => Promise.reject(new Error('kaboom')) };
    const h = await startHarness({ attestors: [failing] });
    const client = new TestWorkloadClient(h.socketPath);
    try {
      await rejectsWith(client.first('FetchX509SVID'), status.UNAVAILABLE, 'workload attestation failed');
      await rejectsWith(client.unary('FetchJWTSVID', { audience: ['a'] }), status.UNAVAILABLE, 'workload attestation failed');
      const line = h.logger.find('warn', 'a workload attestor failed');
      assert.equal(line?.fields['attestor'], 'broken');
      assert.equal(line?.fields['err'], 'kaboom');
    } finally {
      client.close();
      await h.close();
    }
  });

  it("combines the selectors of every attestor, and one failing attestor only loses its own", async () => {
    const a: WorkloadAttestor = { type: 'a', attest: async () => [{ type: 'a', value: '1' }] };
    const b: WorkloadAttestor = { type: 'b', attest: async () => [{ type: 'b', value: '2' }] };
    const broken: WorkloadAttestor = { type: 'c', attest: async () => Promise.reject(new Error('no')) };
    const h = await startHarness({ attestors: [a, broken, b] });
    const client = new TestWorkloadClient(h.socketPath);
    try {
      h.view.addIdentity(await h.authority.issue('/both', ['a:1', 'b:2']));
      const res = await client.first<{ svids: { spiffe_id: string }[] }>('FetchX509SVID');
      assert.equal(res.svids[0]?.spiffe_id, 'spiffe://example.org/both');
    } finally {
      client.close();
      await h.close();
    }
  });

  it('refuses, with Unauthenticated, a caller whose start time changes during attestation (PID reuse, simulated)', async () => {
    let reused = false;
    const start = (): string => (reused ? '200' : '100');
    // The attestor runs between accept and the liveness check: the moment a PID can change hands.
    const racing: WorkloadAttestor = {
      type: 'racing',
      attest: async () => {
        reused = true;
        return [{ type: 'racing', value: 'x' }];
      },
    };
    const h = await startHarness({ attestors: [racing], peerTracking: { usePidfd: false, readStartTime: () => start() } });
    const client = new TestWorkloadClient(h.socketPath);
    try {
      h.view.addIdentity(await h.authority.issue('/x', ['racing:x']));
      await rejectsWith(client.first('FetchX509SVID'), status.UNAUTHENTICATED, 'could not verify existence of the original caller');
      assert.match(String(h.logger.find('warn', 'cannot be confirmed')?.fields['reason']), /start time 200, was 100/);
      assert.equal(h.view.subscriberCount, 0);
    } finally {
      client.close();
      await h.close();
    }
  });

  it('ends an open stream with Unauthenticated when its caller turns out to be gone at the next push', async () => {
    let startTime = '100';
    const h = await startHarness({ peerTracking: { usePidfd: false, readStartTime: () => startTime } });
    const client = new TestWorkloadClient(h.socketPath);
    try {
      const me = `unix:uid:${process.getuid?.() ?? 0}`;
      h.view.addIdentity(await h.authority.issue('/first', [me], { createdAt: 1 }));
      const rec = new StreamRecorder(client.stream('FetchX509SVID'));
      await rec.messageCount(1);
      startTime = '999';
      h.view.addIdentity(await h.authority.issue('/second', [me], { createdAt: 2 }));
      await rec.ended();
      assert.equal(rec.messages.length, 1);
      assert.equal(rec.status?.code, status.UNAUTHENTICATED);
      assert.equal(h.view.subscriberCount, 0);
    } finally {
      client.close();
      await h.close();
    }
  });
});
