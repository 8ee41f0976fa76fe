/**
 * What every handler shares, and the two shapes the Workload API's handlers come in: a stream that
 * follows the cache for one caller, and a unary call. Both check the header and attest the caller
 * before anything else, and turn every failure into a status (a malformed or unlucky call ends
 * itself, never the agent).
 */
import type { handleServerStreamingCall, handleUnaryCall, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import type { Selector } from '../../attestors/workload/workload-attestor.js';
import type { IdentitySnapshot, WorkloadView } from '../cache/workload-view.js';
import { attestCaller, checkSecurityHeader, confirmCaller, type AttestedCaller, type CallerContext } from './caller.js';
import type { SharedResponses } from './encode.js';
import { LatestWinsStream, type WriteBudget } from './stream.js';
import { RpcError, toStatus } from './status.js';

export interface HandlerContext extends CallerContext {
  view: WorkloadView;
  responses: SharedResponses;
  /** Shared by every stream: bytes handed to grpc-js and not yet written out (stream.ts). */
  writeBudget: WriteBudget;
  /** The agent's trust domain name. */
  trustDomain: string;
}

export interface StreamState {
  /** This is the state at subscription time. */
  first: boolean;
  /** The caller has been sent something on this stream already. */
  sentAny: boolean;
  /** The caller set a deadline: it wants an answer, not a watch. */
  hasDeadline: boolean;
}

/** What to do with one state: send these bytes, end with this refusal, or send nothing yet. */
export type StreamDecision = Buffer | RpcError | undefined;

/** Where a caller's states go: a stream that may close at any time. */
export interface CallerFeed {
  readonly closed: boolean;
  /** Runs once when the feed closes (at once if it already has). */
  onClose(fn: () => void): void;
  /** One state: `first` for the state at subscription time. Throwing ends the feed through `fail`. */
  update(snap: IdentitySnapshot, first: boolean): void;
  fail(err: unknown): void;
}

/**
 * Attests the caller, subscribes it to the cache and hands `feed` every state until the feed
 * closes: the first at once, each later one only after the caller is confirmed to be the process
 * that connected. Shared by the Workload API's streams and Envoy SDS. Resolves with the attested
 * caller, or undefined when the feed closed during attestation; rejects when attestation refuses.
 */
export async function followCaller(ctx: HandlerContext, peerId: string, method: string, feed: CallerFeed): Promise<AttestedCaller | undefined> {
  const caller = await attestCaller(ctx, peerId, method);
  if (feed.closed) return undefined;
  const deliver = (snap: IdentitySnapshot, first: boolean): void => {
    if (feed.closed) return;
    try {
      // attestCaller has just confirmed the caller for the first state; later ones need a fresh check.
      if (!first) confirmCaller(ctx, caller.peer, method);
      feed.update(snap, first);
    } catch (err) {
      feed.fail(err);
    }
  };
  // The cache may report a change before subscribe() has returned; keep the newest.
  let started = false;
  let early: IdentitySnapshot | undefined;
  const sub = ctx.view.subscribe(caller.selectors, (snap) => {
    if (started) deliver(snap, false);
    else if (early === undefined || snap.version > early.version) early = snap;
  });
  feed.onClose(() => sub.unsubscribe());
  started = true;
  deliver(early !== undefined && early.version > sub.snapshot.version ? early : sub.snapshot, true);
  return caller;
}

/** A stream of full states from the cache, for one attested caller, until it goes away. */
export function snapshotStream(
  ctx: HandlerContext,
  method: string,
  decide: (snap: IdentitySnapshot, state: StreamState) => StreamDecision,
): handleServerStreamingCall<unknown, Buffer> {
  return (call: ServerWritableStream<unknown, Buffer>) => {
    const stream = new LatestWinsStream(call, ctx.writeBudget);
    const deadline = call.getDeadline();
    const hasDeadline = deadline instanceof Date || Number.isFinite(deadline);
    const fail = (err: unknown): void => stream.end(toStatus(err, ctx.logger, method));
    const feed: CallerFeed = {
      get closed() {
        return stream.closed;
      },
      onClose: (fn) => stream.onClose(fn),
      update: (snap, first) => {
        const d = decide(snap, { first, sentAny: stream.sentAny, hasDeadline });
        if (d instanceof RpcError) stream.end({ code: d.code, details: d.details });
        else if (d !== undefined) stream.send(d);
      },
      fail,
    };
    const run = async (): Promise<void> => {
      checkSecurityHeader(call.metadata);
      await followCaller(ctx, call.getPeer(), method, feed);
    };
    run().catch(fail);
  };
}

/**
 * A unary call: header, attestation, then `fn` with the caller's selectors. Envoy SDS calls are
 * attested the same way but carry no security header (`securityHeader: false`), as in SPIRE.
 */
export function unaryCall<Req, Res>(
  ctx: HandlerContext,
  method: string,
  validate: (req: Req) => void,
  fn: (req: Req, selectors: Selector[]) => Promise<Res>,
  opts: { securityHeader?: boolean } = {},
): handleUnaryCall<Req, Res> {
  return (call: ServerUnaryCall<Req, Res>, callback) => {
    const run = async (): Promise<Res> => {
      if (opts.securityHeader !== false) checkSecurityHeader(call.metadata);
      // Field checks come before attestation: a request that can never succeed costs no /proc reads.
      validate(call.request);
      return fn(call.request, (await attestCaller(ctx, call.getPeer(), method)).selectors);
    };
    run().then(
      (res) => callback(null, res),
      (err: unknown) => callback(toStatus(err, ctx.logger, method)),
    );
  };
}
