/**
 * FetchJWTSVID and FetchJWTBundles. Tokens come from the cache, which asks the server for them and
 * keeps them per SPIFFE ID and audience set; here are only the request's rules: at least one
 * audience, none empty, and an optional SPIFFE ID the caller must hold.
 */
import { status, type handleServerStreamingCall, type handleUnaryCall } from '@grpc/grpc-js';
import { SpiffeId } from '../../spiffe/spiffeid/index.js';
import { messageOf } from '../../spiffe/errors.js';
import { type HandlerContext, snapshotStream, unaryCall } from './context.js';
import { uniqueHints } from './encode.js';
import type { JwtSvidRequestMsg, JwtSvidResponseMsg } from './messages.js';
import { Refusal, RpcError } from './status.js';

function validateJwtSvidRequest(req: JwtSvidRequestMsg): void {
  if (req.audience.length === 0) throw new RpcError(status.INVALID_ARGUMENT, 'audience must be specified');
  if (req.audience.some((a) => a === '')) throw new RpcError(status.INVALID_ARGUMENT, 'audience must not contain an empty value');
  if (req.spiffe_id !== '') {
    try {
      SpiffeId.fromString(req.spiffe_id);
    } catch (err) {
      throw new RpcError(status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${messageOf(err)}`);
    }
  }
}

export function fetchJwtSvid(ctx: HandlerContext): handleUnaryCall<JwtSvidRequestMsg, JwtSvidResponseMsg> {
  return unaryCall(ctx, 'FetchJWTSVID', validateJwtSvidRequest, async (req, selectors) => {
    const snap = ctx.view.snapshot(selectors);
    let identities = uniqueHints(snap.identities);
    if (req.spiffe_id !== '') identities = identities.filter((i) => i.spiffeId === req.spiffe_id);
    if (identities.length === 0) throw Refusal.noIdentity();
    // The audience set as the caller sent it, deduplicated: ["a","a"] and ["a"] are one token.
    const audience = [...new Set(req.audience)];
    const svids = await Promise.all(
      identities.map(async (i) => ({ spiffe_id: i.spiffeId, svid: (await ctx.view.fetchJwtSvid(i, audience)).token, hint: i.hint })),
    );
    return { svids };
  });
}

export function fetchJwtBundles(ctx: HandlerContext): handleServerStreamingCall<unknown, Buffer> {
  return snapshotStream(ctx, 'FetchJWTBundles', (snap) => ctx.responses.jwtBundles(snap));
}
