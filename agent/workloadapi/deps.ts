/**
 * What the Workload API server is given: the cache's view of identities, the workload attestors, a
 * logger and the trust domain. Nothing here knows how identities are synced or minted.
 */
import type { ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import type { WorkloadAttestor } from '../../attestors/workload/workload-attestor.js';
import type { WorkloadView } from '../cache/workload-view.js';
import type { HandlerContext } from './context.js';
import type { WorkloadApiLogger } from './logger.js';
import type { PeerSyscalls } from './peer-credentials.js';

export type { LogFields, WorkloadApiLogger } from './logger.js';

export interface WorkloadApiDeps {
  view: WorkloadView;
  attestors: WorkloadAttestor[];
  logger: WorkloadApiLogger;
  /** The agent's trust domain name (`example.org`): tokens from other trust domains have their claims filtered. */
  trustDomain: string;
  /**
   * Further services on the same socket (Envoy SDS), built from the Workload API's handler context
   * so their callers are identified and attested exactly as Workload API callers are.
   */
  services?: readonly SocketService[];
  /** For tests: how callers are pinned against PID reuse (see peer-tracker.ts). */
  peerTracking?: {
    syscalls?: PeerSyscalls;
    readStartTime?: (pid: number) => string | undefined;
    usePidfd?: boolean;
  };
}

export interface SocketService {
  definition: ServiceDefinition;
  handlers(ctx: HandlerContext): UntypedServiceImplementation;
}
