/**
 * The server halves of the built-in node attestors, by name (attestors/node/builtins.ts lists the
 * names; the Record type makes the build fail until a new name has its constructor here).
 */
import { BUILTIN_NODE_ATTESTOR_TYPES, type BuiltinNodeAttestorType } from '../../../attestors/node/builtins.js';
import { JoinTokenServerAttestor } from '../../../attestors/node/join-token/server.js';
import type { ServerNodeAttestor } from '../../../attestors/node/node-attestor.js';

const SERVER_HALVES: Readonly<Record<BuiltinNodeAttestorType, () => ServerNodeAttestor>> = {
  join_token: () => new JoinTokenServerAttestor(),
};

/** The server halves of `types` (default: every built-in). */
export function builtinServerNodeAttestors(types: readonly BuiltinNodeAttestorType[] = BUILTIN_NODE_ATTESTOR_TYPES): ServerNodeAttestor[] {
  return types.map((t) => SERVER_HALVES[t]());
}
