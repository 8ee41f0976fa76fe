/**
 * join_token, agent half: send the token, answer no challenges (the server half sends none).
 */
import { JOIN_TOKEN } from '../builtins.js';
import { NodeAttestorError, NodeAttestorErrorCode, type AgentNodeAttestor } from '../node-attestor.js';
import { tokenProblem } from './token.js';

export class JoinTokenAgentAttestor implements AgentNodeAttestor {
  readonly type = JOIN_TOKEN;
  readonly #token: string;

  /** Refuses a token the server would refuse anyway, before anything is sent. */
  constructor(token: string) {
    const problem = tokenProblem(token);
    if (problem !== undefined) throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, problem);
    this.#token = token;
  }

  async payload(): Promise<Uint8Array> {
    return new TextEncoder().encode(this.#token);
  }

  async respond(_challenge: Uint8Array): Promise<Uint8Array> {
    throw new NodeAttestorError(this.type, NodeAttestorErrorCode.invalid, 'the server sent a challenge, but join_token has none to answer');
  }
}
