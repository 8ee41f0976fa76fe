/**
 * The agent halves of the built-in node attestors (attestors/node/builtins.ts lists the names; the
 * Record type fails the build until a new name has its constructor here, as on the server). Each
 * takes the config and returns undefined when it is not configured; the first configured one
 * attests the agent. TPM joins as another line.
 */
import { BUILTIN_NODE_ATTESTOR_TYPES, type BuiltinNodeAttestorType } from '../../attestors/node/builtins.js';
import { JoinTokenAgentAttestor } from '../../attestors/node/join-token/agent.js';
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import type { AgentConfig } from '../config/index.js';

const AGENT_HALVES: Readonly<Record<BuiltinNodeAttestorType, (config: AgentConfig) => AgentNodeAttestor | undefined>> = {
  join_token: (c) => (c.joinToken === undefined ? undefined : new JoinTokenAgentAttestor(c.joinToken)),
};

/** The node attestor the config sets up, or undefined (the agent can then only reuse a stored SVID). */
export function configuredNodeAttestor(config: AgentConfig): AgentNodeAttestor | undefined {
  for (const type of BUILTIN_NODE_ATTESTOR_TYPES) {
    const attestor = AGENT_HALVES[type](config);
    if (attestor !== undefined) return attestor;
  }
  return undefined;
}
