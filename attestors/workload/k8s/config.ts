/**
 * The k8s attestor's settings and how they resolve, SPIRE's defaults where SPIRE has one: the
 * kubelet's secure port 10250 on this node (its name from `nodeName` or MY_NODE_NAME, else
 * 127.0.0.1, which needs hostNetwork), the pod's service-account token and CA, a 10 s request
 * timeout. The wait for a container the kubelet does not list yet is 5 s by default (SPIRE polls
 * up to 30 s; a caller blocked that long usually has a deadline of its own that expires first).
 */

export interface K8sAttestorConfig {
  /** `https://HOST:10250` (secure port) or `http://HOST:10255` (read-only port). */
  kubeletUrl?: string;
  /** PEM CA bundle that signed the kubelet's serving certificate. */
  kubeletCa?: string;
  /** Bearer token file (a service-account token), re-read when it changes. */
  kubeletTokenFile?: string;
  kubeletClientCert?: string;
  kubeletClientKey?: string;
  /** Do not verify the kubelet's serving certificate (self-signed kubelet certs). Warned about. */
  skipKubeletVerification?: boolean;
  nodeName?: string;
  /** How long a fetched pod list answers callers before it is fetched again (ms). */
  podListCacheMs?: number;
  /** How long to keep looking for a container the kubelet does not list yet (ms); 0 = do not wait. */
  retryTimeoutMs?: number;
  /** The first wait between fetches while looking; doubles up to 1 s (ms). */
  retryIntervalMs?: number;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
export const DEFAULT_TOKEN_FILE = `${SERVICE_ACCOUNT_DIR}/token`;
export const DEFAULT_CA_FILE = `${SERVICE_ACCOUNT_DIR}/ca.crt`;
export const KUBELET_SECURE_PORT = 10250;
export const KUBELET_READ_ONLY_PORT = 10255;
export const NODE_NAME_ENV = 'MY_NODE_NAME';
export const DEFAULT_POD_LIST_CACHE_MS = 500;
export const DEFAULT_RETRY_TIMEOUT_MS = 5_000;
export const DEFAULT_RETRY_INTERVAL_MS = 100;
export const MAX_RETRY_INTERVAL_MS = 1_000;
export const KUBELET_TIMEOUT_MS = 10_000;
/** A body over this is refused rather than buffered: a node's list is ~1 MiB at 110 pods. */
export const MAX_POD_LIST_BYTES = 64 * 1024 * 1024;

export type KubeletAuth =
  | { kind: 'read-only' }
  | { kind: 'token'; tokenFile: string }
  | { kind: 'client-cert'; certFile: string; keyFile: string };

export interface ResolvedK8sConfig {
  url: URL;
  /** Absent for the read-only port and with skipVerification. */
  caFile: string | undefined;
  skipVerification: boolean;
  auth: KubeletAuth;
  nodeName: string | undefined;
  podListCacheMs: number;
  retryTimeoutMs: number;
  retryIntervalMs: number;
}

/**
 * Problems with a config, each naming the YAML key and its flag; empty when it resolves. The agent's
 * config loader reports them with its other problems, before anything starts.
 */
export function k8sConfigProblems(c: K8sAttestorConfig): string[] {
  const problems: string[] = [];
  const url = c.kubeletUrl === undefined ? undefined : parseUrl(c.kubeletUrl);
  if (c.kubeletUrl !== undefined && url === undefined) {
    problems.push(`kubeletUrl (--kubelet-url): ${JSON.stringify(c.kubeletUrl)} is not an http:// or https:// URL with a host (e.g. https://node-1:10250, http://127.0.0.1:10255)`);
  }
  if ((c.kubeletClientCert === undefined) !== (c.kubeletClientKey === undefined)) {
    problems.push('kubeletClientCert (--kubelet-client-cert) and kubeletClientKey (--kubelet-client-key) go together: give both or neither');
  }
  if (c.kubeletClientCert !== undefined && c.kubeletTokenFile !== undefined) {
    problems.push('kubeletTokenFile (--kubelet-token-file) cannot be combined with a client certificate: the kubelet is asked with one or the other');
  }
  if (url?.protocol === 'http:') {
    const tls = (['kubeletCa', 'kubeletTokenFile', 'kubeletClientCert', 'kubeletClientKey', 'skipKubeletVerification'] as const).filter((k) => c[k] !== undefined);
    if (tls.length > 0) {
      problems.push(`kubeletUrl (--kubelet-url) is the read-only port (http://), which takes no TLS or credentials; remove ${tls.join(', ')} or use https://HOST:${KUBELET_SECURE_PORT}`);
    }
  }
  if (c.kubeletCa !== undefined && c.skipKubeletVerification === true) {
    problems.push('kubeletCa (--kubelet-ca) and skipKubeletVerification (--skip-kubelet-verification) contradict each other: keep one');
  }
  for (const k of ['podListCacheMs', 'retryTimeoutMs', 'retryIntervalMs'] as const) {
    const v = c[k];
    if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) problems.push(`${k}: must be a whole number of milliseconds, 0 or more (got ${v})`);
  }
  if (c.retryIntervalMs === 0) problems.push('retryIntervalMs: must be at least 1 (use retryTimeoutMs: 0 to not wait)');
  return problems;
}

function parseUrl(s: string): URL | undefined {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Throws a TypeError listing the problems (the agent has reported them before this is reached). */
export function resolveK8sConfig(c: K8sAttestorConfig, env: NodeJS.ProcessEnv): ResolvedK8sConfig {
  const problems = k8sConfigProblems(c);
  if (problems.length > 0) throw new TypeError(`workloadattestor(k8s): ${problems.join('; ')}`);
  const envNode = env[NODE_NAME_ENV];
  const nodeName = c.nodeName ?? (envNode !== undefined && envNode !== '' ? envNode : undefined);
  const url = new URL(c.kubeletUrl ?? `https://${nodeName ?? '127.0.0.1'}:${KUBELET_SECURE_PORT}`);
  const readOnly = url.protocol === 'http:';
  const skipVerification = c.skipKubeletVerification ?? false;
  let auth: KubeletAuth;
  if (readOnly) auth = { kind: 'read-only' };
  else if (c.kubeletClientCert !== undefined && c.kubeletClientKey !== undefined) {
    auth = { kind: 'client-cert', certFile: c.kubeletClientCert, keyFile: c.kubeletClientKey };
  } else auth = { kind: 'token', tokenFile: c.kubeletTokenFile ?? DEFAULT_TOKEN_FILE };
  return {
    url,
    caFile: readOnly || skipVerification ? undefined : (c.kubeletCa ?? DEFAULT_CA_FILE),
    skipVerification: !readOnly && skipVerification,
    auth,
    nodeName,
    podListCacheMs: c.podListCacheMs ?? DEFAULT_POD_LIST_CACHE_MS,
    retryTimeoutMs: c.retryTimeoutMs ?? DEFAULT_RETRY_TIMEOUT_MS,
    retryIntervalMs: c.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS,
  };
}
