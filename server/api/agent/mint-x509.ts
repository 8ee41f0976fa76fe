/**
 * MintX509SVIDs: SPIRE's BatchNewX509SVID. Each request names one of the agent's entries and
 * carries a CSR; the result list has one item per request, in order, each with its own status.
 * Authorization comes first (no CPU is spent on a CSR for an entry the agent may not have), then
 * every CSR is checked concurrently, then the CA signs the whole batch concurrently.
 *
 * No per-second cap (SPIRE's 500 CSR/s per IP is what made its bulk issuance slow); the only bound
 * is the batch size, which keeps one call's memory and latency in check.
 */
import type { ServerUnaryCall } from '@grpc/grpc-js';
import { messageOf, SigilError, Status } from '../../../spiffe/errors.js';
import { SpiffeId } from '../../../spiffe/spiffeid/index.js';
import type { X509SvidRequest } from '../../ca/index.js';
import type { RegistrationEntry } from '../../datastore/types.js';
import { decoded, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import { unixSeconds } from './convert.js';
import { csrPublicKey } from './csr.js';
import { AgentApiError, AgentApiErrorCode, denied, invalid } from './errors.js';
import type { MintX509SvidsRequest, MintX509SvidsResponse, X509SvidResultMessage } from './messages.js';
import { reservedIdRefusal } from './reserved.js';

type Deps = Pick<AgentApiContext, 'trustDomain' | 'auth' | 'ca' | 'index' | 'logger' | 'limits'>;

/** How many refused entry ids one log line lists. */
const LOGGED_IDS = 10;

type Prepared = { entry: RegistrationEntry; request: X509SvidRequest } | { error: unknown };

export async function mintX509Svids(
  d: Deps,
  call: ServerUnaryCall<MintX509SvidsRequest | UndecodableMessage, MintX509SvidsResponse>,
): Promise<MintX509SvidsResponse> {
  const agent = await d.auth.authenticate(call, 'MintX509SVIDs');
  const { requests } = decoded(call.request, 'MintX509SVIDsRequest');
  if (requests.length > d.limits.maxMintBatch) {
    throw new AgentApiError(
      AgentApiErrorCode.tooLarge,
      `${requests.length} CSRs in one call is more than the ${d.limits.maxMintBatch} allowed: split the batch`,
    );
  }
  const agentId = agent.id.toString();
  const authorized = d.index.lookup(agentId);
  const refusedIds: string[] = [];
  const prepared = await Promise.all(
    requests.map(async (r, i): Promise<Prepared> => {
      if (r.entry_id === '') return { error: invalid(`request ${i} has no entry_id`) };
      const entry = authorized.get(r.entry_id);
      if (entry === undefined) {
        refusedIds.push(r.entry_id);
        return { error: denied(`entry ${JSON.stringify(r.entry_id)} is not authorized for this agent`) };
      }
      const reserved = reservedIdRefusal(d.trustDomain, entry.id, entry.spiffeId);
      if (reserved !== undefined) {
        refusedIds.push(r.entry_id);
        return { error: reserved };
      }
      try {
        const publicKey = await csrPublicKey(r.csr, `the CSR for entry ${JSON.stringify(r.entry_id)}`);
        const spiffeId = SpiffeId.fromString(entry.spiffeId);
        return { entry, request: { spiffeId, publicKey, ttlSeconds: entry.x509SvidTtl, dnsNames: entry.dnsNames } };
      } catch (err) {
        return { error: err };
      }
    }),
  );
  if (refusedIds.length > 0) {
    d.logger.warn(
      { agentId, refused: refusedIds.length, entryIds: refusedIds.slice(0, LOGGED_IDS) },
      'agentapi: refused X.509-SVIDs for entries the agent is not authorized for',
    );
  }
  const toSign = prepared.filter((p): p is Extract<Prepared, { entry: RegistrationEntry }> => 'entry' in p);
  const signed = await d.ca.issueX509Svids(toSign.map((p) => p.request));
  let next = 0;
  const results = prepared.map((p, i): X509SvidResultMessage => {
    const entryId = requests[i]!.entry_id;
    if ('error' in p) return failed(d, agentId, entryId, p.error);
    const r = signed[next++]!;
    if (r.error !== undefined) return failed(d, agentId, entryId, r.error);
    return { entry_id: entryId, svid_chain: r.svid.certificatesDer, expires_at: unixSeconds(r.svid.expiresAt), error: null };
  });
  return { results };
}

function failed(d: Deps, agentId: string, entryId: string, err: unknown): X509SvidResultMessage {
  if (err instanceof SigilError) return { entry_id: entryId, svid_chain: [], expires_at: 0, error: { code: err.status, message: err.message } };
  // Not one of ours: a bug. Its text may say more than a client should read, so it goes to the log only.
  d.logger.error({ agentId, entryId, err: messageOf(err) }, 'agentapi: minting an X.509-SVID failed');
  return { entry_id: entryId, svid_chain: [], expires_at: 0, error: { code: Status.INTERNAL, message: 'agentapi: internal error' } };
}
