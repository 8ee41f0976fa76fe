/**
 * join_token, server half: the payload is a token an operator created; using it deletes it. The
 * agent is `join_token/<token>`, has no node selectors, and cannot attest again (its token is
 * gone), so it keeps its identity alive with Renew.
 *
 * Status codes: a token that is unknown, used or expired is PermissionDenied — the request is well
 * formed and the credential in it does not grant attestation, which is what that code means, and
 * the agent reacts as to any refused credential (stop; an operator must issue a new token). SPIRE
 * answers InvalidArgument here, which tells a client its request was malformed and invites a fix
 * that cannot exist. A payload that cannot be a token at all is InvalidArgument.
 * Messages never contain the token: they reach logs, and the token is a secret until it is used.
 */
import { JOIN_TOKEN } from '../builtins.js';
import {
  NodeAttestorError, NodeAttestorErrorCode, type AttestationResult, type ChallengeFn, type NodeAttestorHost,
  type ServerNodeAttestor,
} from '../node-attestor.js';
import { tokenProblem } from './token.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export class JoinTokenServerAttestor implements ServerNodeAttestor {
  readonly type = JOIN_TOKEN;

  async attest(payload: Uint8Array, host: NodeAttestorHost, _challenge: ChallengeFn): Promise<AttestationResult> {
    const token = this.#decode(payload);
    const consumed = await host.consumeJoinToken(token);
    if (consumed === undefined) throw this.#denied('the join token is unknown or was already used');
    if (consumed.expiresAt.getTime() <= host.now().getTime()) {
      throw this.#denied(`the join token expired at ${consumed.expiresAt.toISOString()} and has been deleted; create a new one`);
    }
    return { agentPath: `${JOIN_TOKEN}/${token}`, selectors: [], canReattest: false };
  }

  #decode(payload: Uint8Array): string {
    let token: string;
    try {
      token = decoder.decode(payload);
    } catch (err) {
      throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, 'the payload is not UTF-8 text', { cause: err });
    }
    const problem = tokenProblem(token);
    if (problem !== undefined) throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, problem);
    return token;
  }

  #denied(message: string): NodeAttestorError {
    return new NodeAttestorError(this.type, NodeAttestorErrorCode.denied, message);
  }
}
