/**
 * The workload attestors sigil ships, by name: the one list a new attestor is added to (habit 4).
 * Each implementation takes its name from here, and the agent's constructor table
 * (agent/workloadapi/attestors.ts) is typed over BuiltinWorkloadAttestorType, so adding a name here
 * fails the build until the agent can construct it. The table lives with its user: the import rules
 * keep this kind-level folder from importing its implementations.
 */

export const UNIX = 'unix';
export const K8S = 'k8s';

export const BUILTIN_WORKLOAD_ATTESTOR_TYPES = [UNIX, K8S] as const;

export type BuiltinWorkloadAttestorType = (typeof BUILTIN_WORKLOAD_ATTESTOR_TYPES)[number];

export function isBuiltinWorkloadAttestorType(type: string): type is BuiltinWorkloadAttestorType {
  return (BUILTIN_WORKLOAD_ATTESTOR_TYPES as readonly string[]).includes(type);
}
