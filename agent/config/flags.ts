/**
 * The `sigil agent run` flags that set config keys: kebab-case spellings of top-level keys. run.ts
 * builds its options from this table, so a key, its flag and its help stay together.
 */
import { LOG_LEVELS } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_LOG_LEVEL, DEFAULT_SERVER_ADDRESS, DEFAULT_SOCKET_PATH } from './defaults.js';
import type { KeyPath } from './issues.js';
import { formatHostPort } from './values.js';

/** What the flags give: only those on the command line are set. */
export interface ConfigFlags {
  trustDomain?: string;
  serverAddress?: string;
  joinToken?: string;
  trustBundle?: string;
  insecureBootstrap?: boolean;
  socketPath?: string;
  dataDir?: string;
  logLevel?: string;
}

export type FlagKey = keyof ConfigFlags;

export interface FlagSpec {
  key: FlagKey;
  flag: string;
  /** Absent for a switch (`--insecure-bootstrap`). */
  arg?: string;
  help: string;
}

export const CONFIG_FLAGS: readonly FlagSpec[] = [
  { key: 'trustDomain', flag: '--trust-domain', arg: 'TD', help: 'the trust domain, e.g. example.org (required here or in the file)' },
  {
    key: 'serverAddress', flag: '--server-address', arg: 'HOST:PORT',
    help: `the server's agent API (default: ${formatHostPort(DEFAULT_SERVER_ADDRESS)})`,
  },
  { key: 'joinToken', flag: '--join-token', arg: 'TOKEN', help: 'attest with this join token (single use) when there is no valid SVID in the data directory' },
  { key: 'trustBundle', flag: '--trust-bundle', arg: 'FILE', help: "PEM file of the trust domain's CA certificates, to trust the server before attestation" },
  {
    key: 'insecureBootstrap', flag: '--insecure-bootstrap',
    help: "trust the server's certificate on first contact without a bundle (still requires its SPIFFE ID); for tests only",
  },
  { key: 'socketPath', flag: '--socket-path', arg: 'PATH', help: `Workload API Unix socket (default: ${DEFAULT_SOCKET_PATH})` },
  { key: 'dataDir', flag: '--data-dir', arg: 'DIR', help: `where the agent keeps its SVID, key and bundle (default: ${DEFAULT_DATA_DIR})` },
  { key: 'logLevel', flag: '--log-level', arg: 'LEVEL', help: `${LOG_LEVELS.join(', ')} (default: ${DEFAULT_LOG_LEVEL})` },
];

export const FILE_ONLY_HINT = 'Only the config file sets workloadKeyType (ec-p256, ec-p384, rsa-2048), workloadAttestors and sds (Envoy SDS names).';

/** Names a flag-layer key path by its flag: `--server-address`. */
export function flagLabel(path: KeyPath): string {
  const top = path[0];
  return CONFIG_FLAGS.find((f) => f.key === top)?.flag ?? String(top);
}
