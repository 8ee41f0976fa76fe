/**
 * The server halves of the built-in node attestors, by name (attestors/node/builtins.ts lists the
 * names; the Record type makes the build fail until a new name has its constructor here). Each
 * takes the server's nodeAttestors config and returns undefined when it is not turned on there.
 */
import { readFileSync } from 'node:fs';
import { BUILTIN_NODE_ATTESTOR_TYPES, type BuiltinNodeAttestorType } from '../../../attestors/node/builtins.js';
import { JoinTokenServerAttestor } from '../../../attestors/node/join-token/server.js';
import type { ServerNodeAttestor } from '../../../attestors/node/node-attestor.js';
import { parsePemBundle } from '../../../attestors/node/tpm/ek-cert.js';
import { TpmServerAttestor } from '../../../attestors/node/tpm/server.js';
import { messageOf } from '../../../spiffe/errors.js';
import type { NodeAttestorsConfig, TpmAttestorConfig } from '../../config/index.js';
import { AgentApiError, AgentApiErrorCode } from './errors.js';

const SERVER_HALVES: Readonly<Record<BuiltinNodeAttestorType, (c: NodeAttestorsConfig) => ServerNodeAttestor | undefined>> = {
  join_token: () => new JoinTokenServerAttestor(),
  tpm: (c) => (c.tpm === undefined ? undefined : tpmAttestor(c.tpm)),
};

/** The server halves `config` turns on (join_token always; tpm when configured). */
export function builtinServerNodeAttestors(config: NodeAttestorsConfig = { tpm: undefined }): ServerNodeAttestor[] {
  return BUILTIN_NODE_ATTESTOR_TYPES.map((t) => SERVER_HALVES[t](config)).filter((a): a is ServerNodeAttestor => a !== undefined);
}

/** Reads the EK CA bundles now, so a missing or unreadable file stops the server at start. */
function tpmAttestor(c: TpmAttestorConfig): TpmServerAttestor {
  const ekCas = c.ekCaBundles.flatMap((path) => {
    try {
      return parsePemBundle(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new AgentApiError(AgentApiErrorCode.internal, `nodeAttestors.tpm: cannot load the EK CA bundle ${path}: ${messageOf(err)}`, { cause: err });
    }
  });
  return new TpmServerAttestor({ ekCas, ekHashAllowList: c.ekHashAllowList, pcrPolicy: c.pcrPolicy });
}
