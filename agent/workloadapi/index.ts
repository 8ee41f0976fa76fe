/**
 * The SPIFFE Workload API on the agent's Unix socket. The agent builds it from its cache's
 * WorkloadView and its workload attestors, and starts it on the configured socket path
 * (DEFAULT_AGENT_SOCKET_PATH unless told otherwise).
 */
import type { WorkloadApiDeps } from './deps.js';
import { WorkloadApiServer } from './server.js';

export type { SocketService, WorkloadApiDeps, WorkloadApiLogger } from './deps.js';
export type { HandlerContext } from './context.js';
export { createBuiltinWorkloadAttestors, type WorkloadAttestorsConfig } from './attestors.js';
export { WorkloadApiServer } from './server.js';
export { WorkloadSocketError } from './socket-path.js';
export { HEALTH_SERVICE, LIVENESS_SERVICE, HEALTH_DETAIL_TRAILER, healthServiceDefinition } from './health.js';

export interface WorkloadApi {
  /** Listens on `socketPath` (absolute), creating its directory; refuses a path a live agent serves. */
  start(socketPath: string): Promise<void>;
  /** Ends every call and removes the socket. */
  stop(): Promise<void>;
}

export function createWorkloadApi(deps: WorkloadApiDeps): WorkloadApi {
  const server = new WorkloadApiServer(deps);
  return { start: (socketPath) => server.start(socketPath), stop: () => server.stop() };
}
