/**
 * The agent halves of the built-in node attestors (attestors/node/builtins.ts lists the names; the
 * Record type fails the build until a new name has its constructor here, as on the server). Each
 * takes the config and returns undefined when it is not configured; the first configured one
 * attests the agent (the config allows only one).
 */
import { BUILTIN_NODE_ATTESTOR_TYPES, type BuiltinNodeAttestorType } from '../../attestors/node/builtins.js';
import { JoinTokenAgentAttestor } from '../../attestors/node/join-token/agent.js';
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import { TpmAgentAttestor } from '../../attestors/node/tpm/agent.js';
import type { AgentConfig } from '../config/index.js';
import { silentLogger, type Logger } from '../logger.js';

type Half = (config: AgentConfig, logger: Logger) => AgentNodeAttestor | undefined;

const AGENT_HALVES: Readonly<Record<BuiltinNodeAttestorType, Half>> = {
  join_token: (c) => (c.joinToken === undefined ? undefined : new JoinTokenAgentAttestor(c.joinToken)),
  tpm: (c, logger) =>
    c.tpm === undefined
      ? undefined
      : new TpmAgentAttestor({
          ...c.tpm,
          progress: (level, message, fields) => logger[level](fields, message),
        }),
};

/** The node attestor the config sets up, or undefined (the agent can then only reuse a stored SVID). */
export function configuredNodeAttestor(config: AgentConfig, logger: Logger = silentLogger): AgentNodeAttestor | undefined {
  for (const type of BUILTIN_NODE_ATTESTOR_TYPES) {
    const attestor = AGENT_HALVES[type](config, logger);
    if (attestor !== undefined) return attestor;
  }
  return undefined;
}
