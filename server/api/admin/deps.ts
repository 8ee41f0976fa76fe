/** What the admin API needs from the rest of the server, declared narrowly so tests can fake it. */
import type { TrustDomain } from '../../../spiffe/spiffeid/index.js';
import type { ServerCa } from '../../ca/index.js';
import type { Datastore } from '../../datastore/datastore.js';

/** The admin API's logger; the server's logger (and a recorder in tests) satisfies it. */
export interface AdminLogger {
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

export interface HealthReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface AdminApiDeps {
  trustDomain: TrustDomain;
  datastore: Datastore;
  ca: ServerCa;
  logger: AdminLogger;
  /** The server's deep health check (datastore, CA, listeners), run on every non-shallow Check. */
  health: () => Promise<HealthReport>;
  /**
   * The longest TTLs entries may ask for. ServerCa keeps its configuration private, so the server
   * passes them; default: a sixth of the default 24 h CA TTL (4 h), SPIRE's MaxSVIDTTLForCATTL.
   */
  maxX509SvidTtlSeconds?: number;
  maxJwtSvidTtlSeconds?: number;
}
