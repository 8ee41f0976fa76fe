import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { SubjectName } from '../../spiffe/x509svid/profile.js';
import type { DiskUpstreamConfig } from '../ca/index.js';
import type { KeyManagerConfig } from '../keymanager/builtins.js';
import type { KeyType } from '../keymanager/key-manager.js';
import type { LogLevel } from '../logger.js';
import type { HostPort } from './values.js';

export type { HostPort } from './values.js';

/** The server's configuration after flags, file and defaults are merged: every value set, paths absolute. */
export interface ServerConfig {
  trustDomain: TrustDomain;
  /** The agent API's TCP listener; port 0 picks a free port. */
  bind: HostPort;
  /** The admin API's Unix socket. */
  adminSocket: string;
  /** Where the server keeps its state: the SQLite datastore and the keys file by default, its instance id. */
  dataDir: string;
  /** A datastore URL for openDatastore (sqlite:PATH or postgres://…). */
  datastore: string;
  logLevel: LogLevel;
  ca: {
    keyType: KeyType;
    ttlSeconds: number;
    subject: SubjectName | undefined;
    keyManager: KeyManagerConfig;
    upstream: DiskUpstreamConfig | undefined;
  };
  svid: {
    x509TtlSeconds: number;
    jwtTtlSeconds: number;
    /** The agents' own SVIDs; defaults to x509TtlSeconds, as SPIRE's agent_ttl does. */
    agentTtlSeconds: number;
  };
  /** The JWT signing key; keyType defaults to ca.keyType, as SPIRE's jwt_key_type does. */
  jwt: { keyType: KeyType };
  /** DNS names agents dial the server by, put in the agent API's TLS certificate. */
  serverDnsNames: string[];
  nodeAttestors: NodeAttestorsConfig;
}

export interface NodeAttestorsConfig {
  /** Undefined when neither EK CA bundles nor an EK hash allow-list are set: the tpm attestor is off. */
  tpm: TpmAttestorConfig | undefined;
}

export interface TpmAttestorConfig {
  /** Absolute paths of PEM bundles. */
  ekCaBundles: string[];
  /** Lower-case SHA-256 hex of EK SubjectPublicKeyInfo DER. */
  ekHashAllowList: string[];
  /** bank → PCR index → lower-case hex. */
  pcrPolicy: Partial<Record<'sha1' | 'sha256' | 'sha384' | 'sha512', Record<number, string>>>;
}
