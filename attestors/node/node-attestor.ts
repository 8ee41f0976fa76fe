/**
 * The node attestor seam: both halves of a way for an agent to prove which node it runs on. The
 * agent half produces a payload and answers challenges; the server half checks them and names the
 * agent. The server's Attest handler drives the exchange and knows no attestor by name, so a new
 * one (tpm, k8s_psat) is a folder beside join-token/ and a line in builtins.ts.
 *
 * Attestors may import only spiffe/ and this file (scripts/check-imports.mjs): what they need of
 * the server comes through NodeAttestorHost, which the server builds per attestation.
 */
import { SigilError, Status, type StatusCode } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';

export interface NodeSelector {
  type: string;
  value: string;
}

export interface AttestationResult {
  /**
   * `<attestor>/<id>`: the server makes the agent ID `spiffe://<td>/sigil/agent/<agentPath>`. The
   * first segment must be the attestor's type, so no attestor can claim another one's agents.
   */
  agentPath: string;
  /** Node selectors; node-alias entries whose selectors are all among them apply to the agent. */
  selectors: NodeSelector[];
  /** True when the agent can attest again (it re-attests instead of renewing its SVID). */
  canReattest: boolean;
}

/** What the server lends an attestor for one attestation. */
export interface NodeAttestorHost {
  readonly trustDomain: TrustDomain;
  now(): Date;
  /**
   * Deletes the join token and returns its expiry, in one step, before anyone checks the expiry
   * (as SPIRE does), so a token is used at most once even when it turns out to be expired.
   * Undefined when there is no such token: never created, or used already.
   */
  consumeJoinToken(token: string): Promise<{ expiresAt: Date } | undefined>;
}

/** Sends a challenge to the agent and resolves with its answer. */
export type ChallengeFn = (challenge: Uint8Array) => Promise<Uint8Array>;

export interface ServerNodeAttestor {
  /** The name agents ask for, e.g. "join_token"; also the first segment of the agents' paths. */
  readonly type: string;
  /**
   * Checks `payload` (and any number of challenge rounds) and names the agent. Refusals are
   * SigilErrors carrying the gRPC status to answer with; messages name the problem and never echo
   * a secret from the payload.
   */
  attest(payload: Uint8Array, host: NodeAttestorHost, challenge: ChallengeFn): Promise<AttestationResult>;
}

export interface AgentNodeAttestor {
  readonly type: string;
  /** The first message's payload. */
  payload(): Promise<Uint8Array>;
  /** The answer to one challenge from the server half. */
  respond(challenge: Uint8Array): Promise<Uint8Array>;
}

export const NodeAttestorErrorCode = {
  /** The payload or a challenge response is malformed: the agent sent something no attestor reads. */
  invalid: 'SIGIL_NODEATTESTOR_INVALID',
  /** Well-formed evidence that does not prove the node (unknown, used or expired token, bad quote). */
  denied: 'SIGIL_NODEATTESTOR_DENIED',
  /** The attestor could not decide now (a backend it asks is down); the agent may retry. */
  unavailable: 'SIGIL_NODEATTESTOR_UNAVAILABLE',
} as const;

export type NodeAttestorErrorCode = (typeof NodeAttestorErrorCode)[keyof typeof NodeAttestorErrorCode];

const STATUS: Readonly<Record<NodeAttestorErrorCode, StatusCode>> = {
  SIGIL_NODEATTESTOR_INVALID: Status.INVALID_ARGUMENT,
  SIGIL_NODEATTESTOR_DENIED: Status.PERMISSION_DENIED,
  SIGIL_NODEATTESTOR_UNAVAILABLE: Status.UNAVAILABLE,
};

/** Messages read `nodeattestor(<type>): <what was wrong>`, as SPIRE's plugin facade prefixes them. */
export class NodeAttestorError extends SigilError {
  declare readonly code: NodeAttestorErrorCode;

  constructor(attestorType: string, code: NodeAttestorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `nodeattestor(${attestorType}): ${message}`, { status: STATUS[code], cause: options.cause });
  }
}
