/** WatchBundle: the trust domain's bundle now, then each new one (BundleWatch sends only changes). */
import type { ServerWritableStream } from '@grpc/grpc-js';
import type { BundleSnapshot } from './bundle-watch.js';
import { failStream, reportFailure, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import type { WatchBundleRequest, WatchBundleResponse } from './messages.js';
import { PushedStream } from './pushed-stream.js';

type Deps = Pick<AgentApiContext, 'auth' | 'bundles' | 'streams' | 'logger' | 'limits'>;
type WatchCall = ServerWritableStream<WatchBundleRequest | UndecodableMessage, WatchBundleResponse>;

export function watchBundleHandler(d: Deps): (call: WatchCall) => void {
  return (call) => {
    open(d, call).catch((err: unknown) => {
      reportFailure(d.logger, 'WatchBundle', call.getPeer(), err);
      failStream(call, err);
    });
  };
}

async function open(d: Deps, call: WatchCall): Promise<void> {
  const agent = await d.auth.authenticate(call, 'WatchBundle');
  if (call.cancelled) return;
  const stream = new PushedStream(call, agent.id.toString(), d.streams, d.limits.maxQueuedMessages);
  const message = (s: BundleSnapshot): WatchBundleResponse => ({ bundle: s.document, sequence: s.sequence.toString() });
  stream.onClose(d.bundles.subscribe((s) => stream.send(message(s))));
  stream.send(message(d.bundles.current));
}
