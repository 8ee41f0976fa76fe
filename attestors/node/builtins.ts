/**
 * The node attestors sigil ships, by name: the one list a new attestor is added to (habit 4). Each
 * implementation takes its name from here, and the server's and the agent's constructor tables are
 * typed over BuiltinNodeAttestorType, so adding a name here fails the build until both halves are
 * wired. The tables live with their users (server/api/agent/node-attestors.ts on the server): the
 * import rules keep this kind-level folder from importing its implementations.
 */

export const JOIN_TOKEN = 'join_token';
export const TPM = 'tpm';

export const BUILTIN_NODE_ATTESTOR_TYPES = [JOIN_TOKEN, TPM] as const;

export type BuiltinNodeAttestorType = (typeof BUILTIN_NODE_ATTESTOR_TYPES)[number];

export function isBuiltinNodeAttestorType(type: string): type is BuiltinNodeAttestorType {
  return (BUILTIN_NODE_ATTESTOR_TYPES as readonly string[]).includes(type);
}
