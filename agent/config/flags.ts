/**
 * The `sigil agent run` flags that set config keys: kebab-case spellings of top-level keys. run.ts
 * builds its options from this table, so a key, its flag and its help stay together.
 */
import { LOG_LEVELS } from '../logger.js';
import { DEFAULT_DATA_DIR, DEFAULT_LOG_LEVEL, DEFAULT_SERVER_ADDRESS, DEFAULT_SOCKET_PATH, DEFAULT_TPM_TCTI } from './defaults.js';
import { BUILTIN_WORKLOAD_ATTESTOR_TYPES } from '../../attestors/workload/builtins.js';
import {
  DEFAULT_CA_FILE, DEFAULT_TOKEN_FILE, KUBELET_READ_ONLY_PORT, KUBELET_SECURE_PORT, NODE_NAME_ENV, type K8sAttestorConfig,
} from '../../attestors/workload/k8s/config.js';
import type { KeyPath } from './issues.js';
import { formatHostPort } from './values.js';

/** The k8s attestor's settings that have flags (the retry and cache tuning is file-only). */
type K8sFlags = Pick<
  K8sAttestorConfig,
  'kubeletUrl' | 'kubeletCa' | 'kubeletTokenFile' | 'kubeletClientCert' | 'kubeletClientKey' | 'skipKubeletVerification' | 'nodeName'
>;

/** What the flags give: only those on the command line are set. */
export interface ConfigFlags extends K8sFlags {
  trustDomain?: string;
  serverAddress?: string;
  joinToken?: string;
  trustBundle?: string;
  insecureBootstrap?: boolean;
  socketPath?: string;
  dataDir?: string;
  logLevel?: string;
  /** Repeatable: exactly these attestors run (over the file's workloadAttestors keys). */
  workloadAttestor?: string[];
  /** nodeAttestor.type */
  nodeAttestor?: string;
  /** nodeAttestor.tcti */
  tpmTcti?: string;
}

export type FlagKey = keyof ConfigFlags;

export interface FlagSpec {
  key: FlagKey;
  flag: string;
  /** Absent for a switch (`--insecure-bootstrap`). */
  arg?: string;
  help: string;
  /** Where the value lands in the config when not at the top (`workloadAttestors.k8s.kubeletUrl`). */
  path?: readonly string[];
  /** Given once per value; the values are collected into a list. */
  repeatable?: boolean;
}

const k8s = (key: keyof K8sAttestorConfig): readonly string[] => ['workloadAttestors', 'k8s', key];

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
  {
    key: 'workloadAttestor', flag: '--workload-attestor', arg: 'NAME', repeatable: true,
    help: `a workload attestor to run, repeatable: ${BUILTIN_WORKLOAD_ATTESTOR_TYPES.join(', ')} (default: the file's workloadAttestors, else unix)`,
  },
  {
    key: 'kubeletUrl', flag: '--kubelet-url', arg: 'URL', path: k8s('kubeletUrl'),
    help: `k8s: the kubelet, https://HOST:${KUBELET_SECURE_PORT} or read-only http://HOST:${KUBELET_READ_ONLY_PORT} (default: https://<node name>:${KUBELET_SECURE_PORT})`,
  },
  { key: 'kubeletCa', flag: '--kubelet-ca', arg: 'FILE', path: k8s('kubeletCa'), help: `k8s: CA of the kubelet's serving certificate (default: ${DEFAULT_CA_FILE})` },
  {
    key: 'kubeletTokenFile', flag: '--kubelet-token-file', arg: 'FILE', path: k8s('kubeletTokenFile'),
    help: `k8s: bearer token for the kubelet, re-read when it changes (default: ${DEFAULT_TOKEN_FILE})`,
  },
  { key: 'kubeletClientCert', flag: '--kubelet-client-cert', arg: 'FILE', path: k8s('kubeletClientCert'), help: 'k8s: client certificate for the kubelet (with --kubelet-client-key), instead of a token' },
  { key: 'kubeletClientKey', flag: '--kubelet-client-key', arg: 'FILE', path: k8s('kubeletClientKey'), help: 'k8s: the key of --kubelet-client-cert' },
  {
    key: 'skipKubeletVerification', flag: '--skip-kubelet-verification', path: k8s('skipKubeletVerification'),
    help: "k8s: do not verify the kubelet's serving certificate (self-signed kubelet certificates; logged as a warning)",
  },
  { key: 'nodeName', flag: '--node-name', arg: 'NAME', path: k8s('nodeName'), help: `k8s: this node's name, the kubelet's host (default: $${NODE_NAME_ENV})` },
  {
    key: 'nodeAttestor', flag: '--node-attestor', arg: 'TYPE', path: ['nodeAttestor', 'type'],
    help: 'join_token or tpm (default: join_token when a join token is given)',
  },
  {
    key: 'tpmTcti', flag: '--tpm-tcti', arg: 'TCTI', path: ['nodeAttestor', 'tcti'],
    help: `the TPM for --node-attestor tpm, e.g. swtpm:host=127.0.0.1,port=2321 (default: ${DEFAULT_TPM_TCTI})`,
  },
];

export const FILE_ONLY_HINT =
  'Only the config file sets workloadKeyType (ec-p256, ec-p384, rsa-2048), the unix attestor\'s settings, the k8s attestor\'s podListCacheMs, retryTimeoutMs and retryIntervalMs,\n' +
  'nodeAttestor.pcrs, nodeAttestor.pcrBank and nodeAttestor.ekAlgorithm (rsa, ecc), and sds (Envoy SDS names).';

/** Names a flag-layer key path by its flag: `--server-address`, `--kubelet-url`. */
export function flagLabel(path: KeyPath): string {
  const spec = CONFIG_FLAGS.find((f) => (f.path ?? [f.key]).every((p, i) => path[i] === p));
  if (spec !== undefined) return spec.flag;
  if (path[0] === 'workloadAttestors') return '--workload-attestor';
  return String(path[0]);
}
