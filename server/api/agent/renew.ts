/**
 * Renew: SPIRE's RenewAgent. A new agent SVID for the CSR's key, stored as the agent's *new*
 * serial; the old SVID keeps working until the new one is first used (peer-auth.ts promotes it),
 * so an agent that loses the response is not locked out. Agents that can re-attest are refused:
 * they prove themselves again instead of extending an identity indefinitely.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { decoded, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import { unixSeconds } from './convert.js';
import { csrPublicKey } from './csr.js';
import { denied } from './errors.js';
import type { RenewRequest, RenewResponse } from './messages.js';

type Deps = Pick<AgentApiContext, 'auth' | 'ca' | 'datastore' | 'logger'>;

export async function renew(d: Deps, call: ServerUnaryCall<RenewRequest | UndecodableMessage, RenewResponse>): Promise<RenewResponse> {
  const agent = await d.auth.authenticate(call, 'Renew');
  const agentId = agent.id.toString();
  if (agent.record.canReattest) {
    d.logger.warn({ agentId, reason: 'AGENT_MUST_REATTEST' }, 'agentapi: refused to renew a re-attestable agent');
    throw denied('agent must re-attest: agents that can attest again do not renew', 'AGENT_MUST_REATTEST');
  }
  const publicKey = await csrPublicKey(decoded(call.request, 'RenewRequest').csr, 'the CSR');
  const svid = await d.ca.issueAgentSvid({ agentId: agent.id, publicKey });
  await d.datastore.agents.setNewSerial(agentId, svid.serialNumber, unixSeconds(svid.expiresAt));
  d.logger.info({ agentId, serial: svid.serialNumber, expiresAt: svid.expiresAt.toISOString() }, 'agentapi: renewed agent SVID');
  return { svid_chain: svid.certificatesDer, expires_at: unixSeconds(svid.expiresAt) };
}
