/**
 * TokenService: join tokens, as SPIRE's CreateJoinToken. The token is a random UUIDv4 (122 random
 * bits) and single use; an agent attesting with it becomes spiffe://TD/sigil/agent/join_token/<token>.
 * With agent_id, the alias entry SPIRE makes is created up front: spiffe_id = agent_id, parent =
 * the token's agent ID, selector spiffe_id:<token's agent ID>, so it is granted to that agent only.
 */
import { randomUUID } from 'node:crypto';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { messageOf } from '../../../spiffe/errors.js';
import { SpiffeId, type TrustDomain } from '../../../spiffe/spiffeid/index.js';
import type { RegistrationEntry } from '../../datastore/types.js';
import { RegistrationError, validateEntry } from '../../registration/index.js';
import type { HandlerContext } from './context.js';
import { entryToMsg } from './convert.js';
import { invalidRequest } from './errors.js';
import type { JoinTokenMsg } from './messages.js';
import { unary } from './rpc.js';

export const DEFAULT_JOIN_TOKEN_TTL_SECONDS = 600;
const MAX_TTL = 2 ** 31 - 1;

export function joinTokenAgentId(td: TrustDomain, token: string): SpiffeId {
  return SpiffeId.fromSegments(td, 'sigil', 'agent', 'join_token', token);
}

function ttlOf(v: unknown): number {
  if (v === undefined || v === null || v === 0) return DEFAULT_JOIN_TOKEN_TTL_SECONDS;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TTL) {
    throw invalidRequest(`token: ttl: ${String(v)} is not a whole number of seconds above 0`);
  }
  return v;
}

export function tokenService(ctx: HandlerContext): UntypedServiceImplementation {
  const { datastore: ds, logger } = ctx;
  return {
    CreateJoinToken: unary<{ ttl: number; agent_id: string }, JoinTokenMsg>(logger, 'TokenService/CreateJoinToken', async (req) => {
      const ttl = ttlOf(req.ttl);
      const token = randomUUID();
      const agentId = joinTokenAgentId(ctx.trustDomain, token).toString();
      let alias: RegistrationEntry | undefined;
      if (typeof req.agent_id === 'string' && req.agent_id !== '') {
        let entry;
        try {
          entry = validateEntry({ spiffeId: req.agent_id, parentId: agentId, selectors: [{ type: 'spiffe_id', value: agentId }] }, ctx.limits);
        } catch (err) {
          if (err instanceof RegistrationError) throw invalidRequest(`token: agent_id: ${err.rule}`);
          throw err;
        }
        [alias] = await ds.entries.create([entry]);
      }
      const expiresAt = Math.floor(Date.now() / 1000) + ttl;
      try {
        // aliasSpiffeId stays null: the alias entry exists already, attestation must not add another.
        await ds.joinTokens.create({ token, expiresAt, aliasSpiffeId: null });
      } catch (err) {
        if (alias) await removeAlias(ctx, alias, err);
        throw err;
      }
      // The token is a credential: the log gets its expiry and alias, never its value.
      logger.info(`admin: created a join token valid for ${ttl} s`, { expiresAt, aliasEntry: alias?.id });
      return { value: token, expires_at: expiresAt, ttl, agent_id: agentId, alias_entry: alias ? entryToMsg(alias) : null };
    }),
  };
}

/** Undoes the alias entry of a token that could not be stored, so no orphan entry is left behind. */
async function removeAlias(ctx: HandlerContext, alias: RegistrationEntry, cause: unknown): Promise<void> {
  try {
    await ctx.datastore.entries.delete([alias.id]);
  } catch (err) {
    ctx.logger.error(`admin: join token creation failed (${messageOf(cause)}) and its alias entry ${alias.id} could not be deleted: ${messageOf(err)}`, {
      entry: alias.id,
    });
  }
}
