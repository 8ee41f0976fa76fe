/**
 * One SDS stream on the wire: the caller is attested and followed through the cache exactly as a
 * Workload API stream is (workloadapi/context.ts followCaller: same peer credentials, attestors and
 * pin check before every push; no security header, as Envoy sends none), requests and cache states
 * go to the stream's xDS state machine, and its responses go out through the Workload API's
 * LatestWinsStream (shared write budget; a response superseded before it is written is dropped, and
 * its nonce with it, so the client only ever sees the newest).
 */
import type { handleBidiStreamingCall, ServerDuplexStream } from '@grpc/grpc-js';
import type { IdentitySnapshot } from '../cache/workload-view.js';
import { confirmCaller } from '../workloadapi/caller.js';
import { followCaller, type HandlerContext } from '../workloadapi/context.js';
import type { TrackedPeer } from '../workloadapi/peer-tracker.js';
import { toStatus } from '../workloadapi/status.js';
import { LatestWinsStream } from '../workloadapi/stream.js';
import type { StreamContext } from './protocol.js';
import type { SdsSettings } from './settings.js';

export interface StreamMachine<Req> {
  /** Throws (an RpcError) to end the stream. */
  onRequest(req: Req): void;
  onSnapshot(snap: IdentitySnapshot): void;
}

export interface SdsOptions {
  settings: SdsSettings;
  /** For tests: predictable nonces. */
  nonce?: () => string;
}

/**
 * How a stream's responses reach its LatestWinsStream. A StreamSecrets response is a full state, so
 * the newest replaces one not yet written. A DeltaSecrets response is not: dropping one would lose
 * secrets the stream believes the client has, so `fold` merges a response that was not written yet
 * into the next, which then carries both.
 */
export function responseSender<Res>(stream: LatestWinsStream, encode: (res: Res) => Buffer, fold?: (unwritten: Res, next: Res) => Res): (res: Res) => void {
  if (fold === undefined) return (res) => stream.send(encode(res));
  let unwritten: Res | undefined;
  return (res) => {
    const msg = unwritten === undefined ? res : fold(unwritten, res);
    unwritten = msg;
    stream.send(encode(msg), () => {
      if (unwritten === msg) unwritten = undefined;
    });
  };
}

export function secretsStream<Req, Res>(
  ctx: HandlerContext,
  opts: SdsOptions,
  method: string,
  encode: (res: Res) => Buffer,
  machine: (sctx: StreamContext, send: (res: Res) => void) => StreamMachine<Req>,
  fold?: (unwritten: Res, next: Res) => Res,
): handleBidiStreamingCall<Req, Buffer> {
  return (call: ServerDuplexStream<Req, Buffer>) => {
    const stream = new LatestWinsStream(call, ctx.writeBudget);
    const fail = (err: unknown): void => stream.end(toStatus(err, ctx.logger, method));
    const sctx: StreamContext = {
      settings: opts.settings,
      logger: ctx.logger,
      fields: { method, conn: call.getPeer() },
      ...(opts.nonce !== undefined ? { nonce: opts.nonce } : {}),
    };
    const m = machine(sctx, responseSender(stream, encode, fold));
    let peer: TrackedPeer | undefined;
    call.on('data', (req: Req) => {
      if (stream.closed) return;
      try {
        // Requests may trigger a response too, which must not go to a process that is gone.
        if (peer !== undefined) confirmCaller(ctx, peer, method);
        m.onRequest(req);
      } catch (err) {
        fail(err);
      }
    });
    // Envoy never half-closes; a client that does is done with the stream.
    call.on('end', () => stream.end());
    call.on('error', (err) => ctx.logger.debug({ ...sctx.fields, err: err.message }, 'sds: stream error'));
    followCaller(ctx, call.getPeer(), method, {
      get closed() {
        return stream.closed;
      },
      onClose: (fn) => stream.onClose(fn),
      update: (snap) => m.onSnapshot(snap),
      fail,
    }).then((caller) => {
      peer = caller?.peer;
    }, fail);
  };
}
