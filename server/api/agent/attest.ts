/**
 * Attest: node attestation, SPIRE's AttestAgent. params → the attestor's challenges, if any → the
 * agent's SVID, the bundle, and an attested-agent record. No client certificate is needed; the
 * attestor's evidence is the credential. The handler knows no attestor by name.
 */
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { NodeAttestorHost, ServerNodeAttestor } from '../../../attestors/node/node-attestor.js';
import { messageOf } from '../../../spiffe/errors.js';
import { SpiffeId, type TrustDomain } from '../../../spiffe/spiffeid/index.js';
import type { JoinTokenStore } from '../../datastore/datastore.js';
import type { AttestedAgent } from '../../datastore/types.js';
import { decoded, failStream, reportFailure, type UndecodableMessage } from './calls.js';
import type { AgentApiContext } from './context.js';
import { unixSeconds } from './convert.js';
import { csrPublicKey } from './csr.js';
import { AgentApiError, AgentApiErrorCode, denied, invalid } from './errors.js';
import type { AttestRequest, AttestResponse } from './messages.js';
import { StreamReader } from './stream-reader.js';

type Deps = Pick<AgentApiContext, 'trustDomain' | 'datastore' | 'ca' | 'attestors' | 'index' | 'bundles' | 'logger' | 'limits' | 'now'>;
type AttestCall = ServerDuplexStream<AttestRequest | UndecodableMessage, AttestResponse>;

/** The host an attestor gets: the trust domain, the clock, and the join tokens (remembering a consumed token's alias). */
class AttestationHost implements NodeAttestorHost {
  aliasSpiffeId: string | null = null;

  constructor(
    readonly trustDomain: TrustDomain,
    private readonly tokens: JoinTokenStore,
    private readonly clock: () => Date,
  ) {}

  now(): Date {
    return this.clock();
  }

  async consumeJoinToken(token: string): Promise<{ expiresAt: Date } | undefined> {
    const consumed = await this.tokens.consume(token);
    if (consumed === undefined) return undefined;
    this.aliasSpiffeId = consumed.aliasSpiffeId;
    return { expiresAt: new Date(consumed.expiresAt * 1000) };
  }
}

export function attestHandler(d: Deps): (call: AttestCall) => void {
  return (call) => {
    let finished = false;
    const finish = (err: unknown): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      reportFailure(d.logger, 'Attest', call.getPeer(), err);
      failStream(call, err);
    };
    const timer = setTimeout(
      () => finish(new AgentApiError(AgentApiErrorCode.deadline, `attestation did not finish within ${d.limits.attestTimeoutMs} ms`)),
      d.limits.attestTimeoutMs,
    );
    timer.unref();
    attest(d, call, () => finished).then(
      (response) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        call.write(response);
        call.end();
      },
      finish,
    );
  };
}

async function attest(d: Deps, call: AttestCall, finished: () => boolean): Promise<AttestResponse> {
  const reader = new StreamReader<AttestRequest | UndecodableMessage>(call);
  const first = await reader.next();
  if (first === undefined) throw invalid('the stream ended before the attestation parameters were sent');
  const params = decoded(first, 'AttestRequest').params;
  if (params === undefined || params === null) throw invalid('the first AttestRequest must carry params');
  const attestor = d.attestors.get(params.attestor_type);
  if (attestor === undefined) {
    throw new AgentApiError(
      AgentApiErrorCode.precondition,
      `node attestor ${JSON.stringify(params.attestor_type)} is not configured on this server (configured: ${[...d.attestors.keys()].join(', ') || 'none'})`,
    );
  }
  const publicKey = await csrPublicKey(params.csr, 'the CSR');
  const host = new AttestationHost(d.trustDomain, d.datastore.joinTokens, d.now);
  const result = await attestor.attest(params.payload, host, async (challenge) => {
    if (finished()) throw invalid('the attestation has already ended');
    call.write({ challenge: Buffer.from(challenge) });
    const reply = await reader.next();
    if (reply === undefined) throw invalid('the stream ended before the challenge was answered');
    const answer = decoded(reply, 'AttestRequest');
    if (answer.step !== 'challenge_response') throw invalid('expected a challenge_response after a challenge');
    return answer.challenge_response ?? Buffer.alloc(0);
  });
  const agentId = agentIdOf(d.trustDomain, attestor, result.agentPath);
  const id = agentId.toString();
  const existing = await d.datastore.agents.get(id);
  if (existing?.banned === true) throw refused(d, id, 'agent is banned', 'AGENT_BANNED');
  if (existing !== undefined && !result.canReattest) {
    throw refused(d, id, 'agent is already attested and its attestor cannot attest it again: evict it first');
  }
  if (host.aliasSpiffeId !== null) await createTokenAlias(d, id, host.aliasSpiffeId);
  const svid = await d.ca.issueAgentSvid({ agentId, publicKey });
  const record: AttestedAgent = await d.datastore.agents.upsert({
    spiffeId: id,
    attestationType: attestor.type,
    serialNumber: svid.serialNumber,
    expiresAt: unixSeconds(svid.expiresAt),
    newSerialNumber: null,
    newExpiresAt: null,
    banned: false,
    canReattest: result.canReattest,
    selectors: result.selectors.map((s) => ({ type: s.type, value: s.value })),
    agentVersion: existing?.agentVersion ?? '',
  });
  d.index.attested(record);
  d.logger.info(
    { agentId: id, attestor: attestor.type, serial: svid.serialNumber, reattest: existing !== undefined, peer: call.getPeer() },
    'agentapi: agent attested',
  );
  return {
    result: {
      svid_chain: svid.certificatesDer,
      bundle: d.bundles.current.document,
      agent_id: id,
      reattestable: result.canReattest,
      expires_at: unixSeconds(svid.expiresAt),
    },
  };
}

/** `spiffe://<td>/sigil/agent/<agentPath>`; a path that does not start with the attestor's type is its bug. */
function agentIdOf(td: TrustDomain, attestor: ServerNodeAttestor, agentPath: string): SpiffeId {
  const segments = agentPath.split('/');
  if (segments[0] !== attestor.type || segments.length < 2) {
    throw new AgentApiError(AgentApiErrorCode.internal, `node attestor ${attestor.type} named an agent outside ${attestor.type}/`);
  }
  try {
    return SpiffeId.fromSegments(td, 'sigil', 'agent', ...segments);
  } catch (err) {
    throw new AgentApiError(AgentApiErrorCode.internal, `node attestor ${attestor.type} named an invalid agent path: ${messageOf(err)}`, {
      cause: err,
    });
  }
}

function refused(d: Deps, agentId: string, message: string, reason?: 'AGENT_BANNED'): AgentApiError {
  d.logger.warn({ agentId, reason }, `agentapi: refused attestation: ${message}`);
  return denied(message, reason);
}

/**
 * A join token created with an agent ID makes that ID an entry under the agent (SPIRE's
 * CreateJoinToken alias): whatever is parented by the alias ID is then the agent's too.
 */
async function createTokenAlias(d: Deps, agentId: string, alias: string): Promise<void> {
  await d.datastore.entries.create([
    {
      spiffeId: alias,
      parentId: agentId,
      selectors: [{ type: 'spiffe_id', value: agentId }],
      x509SvidTtl: 0,
      jwtSvidTtl: 0,
      dnsNames: [],
      federatesWith: [],
      admin: false,
      downstream: false,
      expiresAt: null,
      hint: '',
    },
  ]);
}
