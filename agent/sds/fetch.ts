/**
 * FetchSecrets: one answer with what the caller holds now, as SPIRE gives it: no version, no nonce.
 * Unlike a stream, a name the caller holds nothing by fails the call (INVALID_ARGUMENT, SPIRE's
 * words), since there is nothing to wait for; a caller holding no identity at all gets
 * PERMISSION_DENIED "no identity issued", the Workload API's answer.
 */
import { status, type handleUnaryCall } from '@grpc/grpc-js';
import { unaryCall, type HandlerContext } from '../workloadapi/context.js';
import { Refusal, RpcError } from '../workloadapi/status.js';
import { SECRET_TYPE_URL, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from './messages.js';
import { wildcardNames } from './names.js';
import { useSpiffeValidator } from './node.js';
import { CONTROL_PLANE, checkTypeUrl, requestedNames } from './protocol.js';
import { secretsFor } from './secrets.js';
import type { SdsOptions } from './stream.js';

/** Go's %q of a sorted list, as SPIRE words the refusal. */
const quoted = (names: readonly string[]): string => `[${[...names].sort().map((n) => JSON.stringify(n)).join(' ')}]`;

export function fetchSecrets(ctx: HandlerContext, opts: SdsOptions): handleUnaryCall<DiscoveryRequestMsg, DiscoveryResponseMsg> {
  return unaryCall(
    ctx,
    'FetchSecrets',
    (req: DiscoveryRequestMsg) => checkTypeUrl(req.type_url),
    async (req, selectors) => {
      const snap = ctx.view.snapshot(selectors);
      if (snap.identities.length === 0) throw Refusal.noIdentity();
      const requested = requestedNames(req.resource_names);
      const names = requested.length === 0 ? wildcardNames(snap) : requested;
      const validator = useSpiffeValidator(req.node, opts.settings.disableSpiffeCertValidation);
      const { found, missing } = secretsFor(names, snap, opts.settings, validator);
      if (missing.length > 0) throw new RpcError(status.INVALID_ARGUMENT, `workload is not authorized for the requested identities ${quoted(missing)}`);
      return { version_info: '', resources: found.map((f) => f.secret), type_url: SECRET_TYPE_URL, nonce: '', control_plane: CONTROL_PLANE };
    },
    { securityHeader: false },
  );
}
