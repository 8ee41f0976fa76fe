/**
 * AgentService: attested agents. Ban and evict only write the datastore; the agent API watches its
 * change events and closes that agent's streams, on this server and on every other one.
 */
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { messageOf } from '../../../spiffe/errors.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import { notFound, q } from '../../datastore/errors.js';
import type { HandlerContext } from './context.js';
import { agentToMsg, pageFromMsg } from './convert.js';
import { invalidRequest } from './errors.js';
import type { AgentMsg } from './messages.js';
import { unary } from './rpc.js';

function agentId(ctx: HandlerContext, v: unknown): string {
  if (typeof v !== 'string' || v === '') throw invalidRequest('agent: spiffe_id: the agent\'s SPIFFE ID is required');
  let id: SpiffeId;
  try {
    id = SpiffeId.fromString(v);
  } catch (err) {
    throw invalidRequest(`agent: spiffe_id: ${q(v)} is not a valid SPIFFE ID: ${messageOf(err)}`);
  }
  if (!id.memberOf(ctx.trustDomain)) {
    throw invalidRequest(`agent: spiffe_id: trust domain ${q(id.trustDomain.name)} is not this server's trust domain ${q(ctx.trustDomain.name)}`);
  }
  return v;
}

export function agentService(ctx: HandlerContext): UntypedServiceImplementation {
  const { datastore: ds, logger } = ctx;
  type ListReq = { by_attestation_type: string; by_banned: boolean; page_size: number; page_token: string };
  return {
    ListAgents: unary<ListReq, { agents: AgentMsg[]; next_page_token: string }>(logger, 'AgentService/ListAgents', async (req) => {
      const filter: { attestationType?: string; banned?: boolean } = {};
      if (typeof req.by_attestation_type === 'string') filter.attestationType = req.by_attestation_type;
      if (typeof req.by_banned === 'boolean') filter.banned = req.by_banned;
      const result = await ds.agents.list(filter, pageFromMsg(req.page_size, req.page_token));
      return { agents: result.items.map(agentToMsg), next_page_token: result.nextPageToken ?? '' };
    }),

    GetAgent: unary<{ spiffe_id: string }, AgentMsg>(logger, 'AgentService/GetAgent', async (req) => {
      const id = agentId(ctx, req.spiffe_id);
      const agent = await ds.agents.get(id);
      if (!agent) throw notFound(`agent ${q(id)}`);
      return agentToMsg(agent);
    }),

    BanAgent: unary<{ spiffe_id: string }, AgentMsg>(logger, 'AgentService/BanAgent', async (req) => {
      const agent = await ds.agents.ban(agentId(ctx, req.spiffe_id));
      logger.info(`admin: banned agent ${q(agent.spiffeId)}`, { agent: agent.spiffeId });
      return agentToMsg(agent);
    }),

    EvictAgent: unary<{ spiffe_id: string }, AgentMsg>(logger, 'AgentService/EvictAgent', async (req) => {
      const agent = await ds.agents.delete(agentId(ctx, req.spiffe_id));
      logger.info(`admin: evicted agent ${q(agent.spiffeId)}`, { agent: agent.spiffeId });
      return agentToMsg(agent);
    }),
  };
}
