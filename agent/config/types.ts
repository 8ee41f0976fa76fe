import type { K8sAttestorConfig } from '../../attestors/workload/k8s/config.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { LogLevel } from '../logger.js';
import type { SdsSettings } from '../sds/settings.js';
import type { HostPort, WorkloadKeyType } from './values.js';

export type { HostPort, WorkloadKeyType } from './values.js';
export type { K8sAttestorConfig };

/** How the agent trusts the server before it has a bundle of its own. */
export type Bootstrap =
  | { kind: 'bundle'; path: string }
  /** Trust-on-first-use of the certificate, still requiring the server's SPIFFE ID. */
  | { kind: 'insecure' };

export interface UnixAttestorConfig {
  discoverWorkloadPath?: boolean;
  workloadSizeLimit?: number;
}

export interface WorkloadAttestorsConfig {
  unix?: UnixAttestorConfig;
  k8s?: K8sAttestorConfig;
}

/** Envoy SDS names and validator choice: the settings agent/sds/ takes, each explained there. */
export type SdsConfig = SdsSettings;

/** The agent's configuration after flags, file and defaults are merged: every value set, paths absolute. */
export interface AgentConfig {
  trustDomain: TrustDomain;
  serverAddress: HostPort;
  /** Needed only when the data directory holds no valid SVID. */
  joinToken: string | undefined;
  bootstrap: Bootstrap;
  socketPath: string;
  dataDir: string;
  logLevel: LogLevel;
  workloadKeyType: WorkloadKeyType;
  workloadAttestors: WorkloadAttestorsConfig;
  sds: SdsConfig;
  /** Set when nodeAttestor.type is tpm. */
  tpm: TpmNodeAttestorConfig | undefined;
}

export interface TpmNodeAttestorConfig {
  tcti: string;
  pcrs: number[];
  pcrBank: 'sha1' | 'sha256' | 'sha384' | 'sha512';
  ekAlgorithm: 'rsa' | 'ecc';
}
