/**
 * FetchX509SVID and FetchX509Bundles.
 *
 * A caller that matches no entry: a caller that set a deadline is fetching, and gets the spec's
 * answer at once, PermissionDenied "no identity issued". One without a deadline is watching (a
 * go-spiffe X509Source, `sigil agent api watch`): its stream stays open with nothing sent, and its
 * first message goes out the moment an entry for it appears, instead of after go-spiffe's retry
 * backoff (1 s, 2 s, 3 s … after each PermissionDenied). Once a stream has carried SVIDs, losing them
 * all ends it with PermissionDenied, as the spec requires, so the workload stops using them (an
 * empty response is not an option: clients reject one). The client reconnects and waits again.
 *
 * Bundles go to every attested caller, with the federated ones only for callers holding an identity
 * (SPIRE's allow_unauthenticated_verifiers behaviour, which the proto's comment promises).
 */
import type { handleServerStreamingCall } from '@grpc/grpc-js';
import { type HandlerContext, snapshotStream } from './context.js';
import { Refusal } from './status.js';

export function fetchX509Svid(ctx: HandlerContext): handleServerStreamingCall<unknown, Buffer> {
  return snapshotStream(ctx, 'FetchX509SVID', (snap, state) => {
    if (snap.identities.length > 0) return ctx.responses.x509Svid(snap);
    if (state.sentAny || (state.first && state.hasDeadline)) return Refusal.noIdentity();
    return undefined;
  });
}

export function fetchX509Bundles(ctx: HandlerContext): handleServerStreamingCall<unknown, Buffer> {
  return snapshotStream(ctx, 'FetchX509Bundles', (snap) => ctx.responses.x509Bundles(snap));
}
