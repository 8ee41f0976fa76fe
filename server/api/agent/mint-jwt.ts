/** MintJWTSVID: a JWT-SVID for one of the agent's entries, with the entry's TTL (0 = the default). */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { decoded, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import { unixSeconds } from './convert.js';
import { denied, invalid } from './errors.js';
import type { MintJwtSvidRequest, MintJwtSvidResponse } from './messages.js';
import { reservedIdRefusal } from './reserved.js';

type Deps = Pick<AgentApiContext, 'trustDomain' | 'auth' | 'ca' | 'index' | 'logger'>;

export async function mintJwtSvid(
  d: Deps,
  call: ServerUnaryCall<MintJwtSvidRequest | UndecodableMessage, MintJwtSvidResponse>,
): Promise<MintJwtSvidResponse> {
  const agent = await d.auth.authenticate(call, 'MintJWTSVID');
  const req = decoded(call.request, 'MintJWTSVIDRequest');
  if (req.entry_id === '') throw invalid('entry_id is required');
  if (req.audience.length === 0 || req.audience.some((a) => a === '')) throw invalid('at least one audience is required, and none may be empty');
  const agentId = agent.id.toString();
  const entry = d.index.lookup(agentId).get(req.entry_id);
  if (entry === undefined) {
    d.logger.warn({ agentId, entryId: req.entry_id }, 'agentapi: refused a JWT-SVID for an entry the agent is not authorized for');
    throw denied(`entry ${JSON.stringify(req.entry_id)} is not authorized for this agent`);
  }
  const reserved = reservedIdRefusal(d.trustDomain, entry.id, entry.spiffeId);
  if (reserved !== undefined) {
    d.logger.warn({ agentId, entryId: entry.id, spiffeId: entry.spiffeId }, 'agentapi: refused a JWT-SVID for a reserved ID');
    throw reserved;
  }
  const svid = await d.ca.issueJwtSvid({ spiffeId: SpiffeId.fromString(entry.spiffeId), audience: req.audience, ttlSeconds: entry.jwtSvidTtl });
  return { token: svid.token, spiffe_id: entry.spiffeId, expires_at: unixSeconds(svid.expiresAt) };
}
