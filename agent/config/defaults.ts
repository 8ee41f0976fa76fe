/**
 * Defaults, SPIRE's where SPIRE has one: the server on port 8081, the public socket beside SPIRE's
 * (`/tmp/sigil-agent/public/api.sock`), P-256 workload keys. The data directory is relative, like
 * SPIRE's `.data`, so a developer can run the agent without root; deployments set it.
 */
import { DEFAULT_AGENT_SOCKET_PATH } from '../../spiffe/workloadapi/constants.js';
import type { LogLevel } from '../logger.js';
import type { HostPort, WorkloadKeyType } from './values.js';

export const DEFAULT_SERVER_ADDRESS: Readonly<HostPort> = Object.freeze({ host: '127.0.0.1', port: 8081 });
export const DEFAULT_SOCKET_PATH = DEFAULT_AGENT_SOCKET_PATH;
export const DEFAULT_DATA_DIR = '.sigil/agent';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
export const DEFAULT_WORKLOAD_KEY_TYPE: WorkloadKeyType = 'ec-p256';
/** The kernel's TPM resource manager: it flushes what a crashed agent left loaded. */
export const DEFAULT_TPM_TCTI = 'device:/dev/tpmrm0';
/** PCR 0 (firmware) and 7 (Secure Boot policy): the measured-boot pair that does not change with kernel updates. */
export const DEFAULT_TPM_PCRS: readonly number[] = [0, 7];
