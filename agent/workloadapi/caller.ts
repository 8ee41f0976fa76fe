/**
 * Who is calling: the security header first, then every workload attestor on the process the kernel
 * named for the connection, then the check that the process is still the one that connected. Runs
 * for every RPC (as SPIRE does), since a process may exec another binary on an open connection.
 */
import { status, type Metadata } from '@grpc/grpc-js';
import type { Selector, WorkloadAttestor } from '../../attestors/workload/workload-attestor.js';
import { messageOf } from '../../spiffe/errors.js';
import { WORKLOAD_API_HEADER, WORKLOAD_API_HEADER_VALUE } from '../../spiffe/workloadapi/index.js';
import type { WorkloadApiLogger } from './logger.js';
import type { PeerTracker, TrackedPeer } from './peer-tracker.js';
import { Refusal, RpcError } from './status.js';

export interface CallerContext {
  attestors: readonly WorkloadAttestor[];
  peers: PeerTracker;
  logger: WorkloadApiLogger;
}

/** The header must be present exactly once with the value `true`, as SPIRE requires. */
export function checkSecurityHeader(metadata: Metadata): void {
  const values = metadata.get(WORKLOAD_API_HEADER);
  if (values.length !== 1 || values[0] !== WORKLOAD_API_HEADER_VALUE) throw Refusal.headerMissing();
}

export interface AttestedCaller {
  peer: TrackedPeer;
  selectors: Selector[];
}

/** The caller's selectors, or an RpcError saying why there are none to trust. */
export async function attestCaller(ctx: CallerContext, peerId: string, method: string): Promise<AttestedCaller> {
  const peer = ctx.peers.get(peerId);
  if (peer === undefined) {
    // Every accepted connection is tracked before grpc-js sees it, so this is a bug, not a caller.
    throw new RpcError(status.INTERNAL, 'the connection of this call is not tracked');
  }
  const results = await Promise.allSettled(ctx.attestors.map((a) => a.attest(peer.pid, { uid: peer.uid, gid: peer.gid })));
  const selectors: Selector[] = [];
  let failures = 0;
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') selectors.push(...r.value);
    else {
      failures++;
      ctx.logger.warn(
        { method, pid: peer.pid, attestor: ctx.attestors[i]?.type, err: messageOf(r.reason) },
        'workload api: a workload attestor failed',
      );
    }
  });
  // The pin is checked after the attestors have read /proc: only then does a pass vouch for
  // what they read.
  confirmCaller(ctx, peer, method);
  if (failures > 0 && failures === ctx.attestors.length) throw Refusal.attestationFailed();
  ctx.logger.debug({ method, pid: peer.pid, selectors: selectors.map((s) => `${s.type}:${s.value}`) }, 'workload api: caller attested');
  return { peer, selectors };
}

/**
 * Throws unless `peer` is still the process that connected. Also checked before each push on an
 * open stream: a connection can outlive its process (a child inherited the socket), and new SVIDs
 * must not keep flowing to whoever holds it after the attested process is gone.
 */
export function confirmCaller(ctx: CallerContext, peer: TrackedPeer, method: string): void {
  const problem = ctx.peers.problem(peer);
  if (problem === undefined) return;
  ctx.logger.warn({ method, pid: peer.pid, uid: peer.uid, pin: peer.pin, reason: problem }, 'workload api: refusing a caller whose process cannot be confirmed');
  throw Refusal.callerGone();
}
