/**
 * The agent's table of built-in workload attestors: one constructor per name in
 * attestors/workload/builtins.ts, typed so a name added there fails the build until it is here.
 */
import { BUILTIN_WORKLOAD_ATTESTOR_TYPES, type BuiltinWorkloadAttestorType } from '../../attestors/workload/builtins.js';
import { UnixWorkloadAttestor, type UnixAttestorConfig } from '../../attestors/workload/unix/unix.js';
import type { WorkloadAttestor } from '../../attestors/workload/workload-attestor.js';

/** Per attestor, its settings; an attestor runs when its key is present (even as `{}`). */
export interface WorkloadAttestorsConfig {
  unix?: UnixAttestorConfig;
}

const CONSTRUCTORS: {
  [T in BuiltinWorkloadAttestorType]: (config: NonNullable<WorkloadAttestorsConfig[T]>) => WorkloadAttestor;
} = {
  unix: (config) => new UnixWorkloadAttestor(config),
};

export function createBuiltinWorkloadAttestors(config: WorkloadAttestorsConfig): WorkloadAttestor[] {
  const out: WorkloadAttestor[] = [];
  for (const type of BUILTIN_WORKLOAD_ATTESTOR_TYPES) {
    const c = config[type];
    if (c !== undefined) out.push(CONSTRUCTORS[type](c));
  }
  return out;
}
