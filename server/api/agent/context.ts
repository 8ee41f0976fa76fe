/**
 * What the handlers share, built once by the service. Each handler takes only the parts it uses
 * (a Pick of this), so its dependencies are visible in its signature.
 */
import type { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import type { ServerNodeAttestor } from '../../../attestors/node/node-attestor.js';
import type { AuthorizedEntries } from '../../authz/authorized-entries.js';
import type { ServerCa } from '../../ca/index.js';
import type { Datastore } from '../../datastore/datastore.js';
import type { BundleWatch } from './bundle-watch.js';
import type { Logger } from './logger.js';
import type { PeerAuthenticator } from './peer-auth.js';
import type { StreamRegistry } from './streams.js';

export interface AgentApiLimits {
  /** CSRs in one MintX509SVIDs call (default 1,000); more is ResourceExhausted. */
  maxMintBatch: number;
  /** Entries per FullSet message (default 1,000, about 250 KB: far below gRPC's 4 MB default). */
  fullSetPageSize: number;
  /** Messages queued on one stream for an agent that does not read before the stream is closed (default 1,000). */
  maxQueuedMessages: number;
  /** How long an attestation may take, challenges included (default 60 s). */
  attestTimeoutMs: number;
}

export const DEFAULT_LIMITS: AgentApiLimits = {
  maxMintBatch: 1000,
  fullSetPageSize: 1000,
  maxQueuedMessages: 1000,
  attestTimeoutMs: 60_000,
};

export interface AgentApiContext {
  trustDomain: TrustDomain;
  datastore: Datastore;
  ca: ServerCa;
  attestors: ReadonlyMap<string, ServerNodeAttestor>;
  logger: Logger;
  auth: PeerAuthenticator;
  index: AuthorizedEntries;
  streams: StreamRegistry;
  bundles: BundleWatch;
  limits: AgentApiLimits;
  now: () => Date;
}
