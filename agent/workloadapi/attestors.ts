/**
 * The agent's table of built-in workload attestors: one constructor per name in
 * attestors/workload/builtins.ts, typed so a name added there fails the build until it is here.
 */
import { BUILTIN_WORKLOAD_ATTESTOR_TYPES, type BuiltinWorkloadAttestorType } from '../../attestors/workload/builtins.js';
import type { K8sAttestorConfig } from '../../attestors/workload/k8s/config.js';
import { K8sWorkloadAttestor, type AttestorLogger } from '../../attestors/workload/k8s/k8s.js';
import { UnixWorkloadAttestor, type UnixAttestorConfig } from '../../attestors/workload/unix/unix.js';
import type { WorkloadAttestor } from '../../attestors/workload/workload-attestor.js';

/** Per attestor, its settings; an attestor runs when its key is present (even as `{}`). */
export interface WorkloadAttestorsConfig {
  unix?: UnixAttestorConfig;
  k8s?: K8sAttestorConfig;
}

/** What the attestors may use of the agent: its logger, for warnings about their configuration. */
export interface AttestorDeps {
  logger?: AttestorLogger;
}

const CONSTRUCTORS: {
  [T in BuiltinWorkloadAttestorType]: (config: NonNullable<WorkloadAttestorsConfig[T]>, deps: AttestorDeps) => WorkloadAttestor;
} = {
  unix: (config) => new UnixWorkloadAttestor(config),
  k8s: (config, deps) => new K8sWorkloadAttestor(config, { logger: deps.logger }),
};

export function createBuiltinWorkloadAttestors(config: WorkloadAttestorsConfig, deps: AttestorDeps = {}): WorkloadAttestor[] {
  const out: WorkloadAttestor[] = [];
  for (const type of BUILTIN_WORKLOAD_ATTESTOR_TYPES) {
    const c = config[type];
    if (c !== undefined) out.push(CONSTRUCTORS[type](c as never, deps));
  }
  return out;
}
