/**
 * `spiffe://<td>/sigil/...` names sigil itself: the server (which agents trust as their server)
 * and the agents (whose IDs the authorizer accepts). Entry validation refuses such IDs (SPIRE's
 * reserved paths); minting refuses them again, because an SVID for one would let a workload pose
 * as the server to agents.
 */
import type { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { denied, type AgentApiError } from './errors.js';

export function reservedIdRefusal(td: TrustDomain, entryId: string, spiffeId: string): AgentApiError | undefined {
  const prefix = `${td.idString()}/sigil/`;
  if (spiffeId !== `${td.idString()}/sigil` && !spiffeId.startsWith(prefix)) return undefined;
  return denied(`entry ${JSON.stringify(entryId)} names ${spiffeId}, which is reserved for sigil's own identities`);
}
