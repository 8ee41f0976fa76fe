/**
 * The `k8s` workload attestor: the caller's container from the kernel (container.ts), its pod from
 * the kubelet (kubelet.ts, shared through pod-cache.ts), and SPIRE's k8s selectors for both
 * (pod-list.ts). A process in no container is a host process: no k8s selectors, no error, so its
 * unix selectors alone decide. A container the kubelet does not list yet (the kubelet reports a
 * pod some time after its containers start) is looked for again with a doubling wait until
 * retryTimeoutMs; then the attestor fails, the agent logs why, and the caller is left with the
 * other attestors' selectors.
 */
import { K8S } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode, type PeerCredentials, type Selector, type WorkloadAttestor } from '../workload-attestor.js';
import { MAX_RETRY_INTERVAL_MS, resolveK8sConfig, type K8sAttestorConfig, type ResolvedK8sConfig } from './config.js';
import { locateContainer } from './container.js';
import { KubeletClient } from './kubelet.js';
import { PodListCache, type PodListSnapshot } from './pod-cache.js';
import type { PodIndex } from './pod-list.js';

/** What the attestor logs through; the agent passes its own logger (pino's shape). */
export interface AttestorLogger {
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

export interface K8sAttestorOptions {
  logger?: AttestorLogger;
  /** Where MY_NODE_NAME is read; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Where /proc is; tests point it at prepared files. */
  procRoot?: string;
  /** Replaces the kubelet (unit tests, the benchmark's in-process list). */
  fetchPods?: () => Promise<PodIndex>;
}

export class K8sWorkloadAttestor implements WorkloadAttestor {
  readonly type = K8S;
  readonly config: ResolvedK8sConfig;
  readonly pods: PodListCache;
  readonly #procRoot: string;
  readonly #kubelet: KubeletClient | undefined;
  readonly #logger: AttestorLogger | undefined;

  constructor(config: K8sAttestorConfig = {}, options: K8sAttestorOptions = {}) {
    this.config = resolveK8sConfig(config, options.env ?? process.env);
    this.#procRoot = options.procRoot ?? '/proc';
    this.#logger = options.logger;
    let fetch = options.fetchPods;
    if (fetch === undefined) {
      const kubelet = new KubeletClient(this.config);
      this.#kubelet = kubelet;
      fetch = () => kubelet.fetchPods();
    }
    this.pods = new PodListCache(fetch, this.config.podListCacheMs);
    if (this.config.skipVerification) {
      this.#logger?.warn(
        { kubeletUrl: this.config.url.href },
        "workloadattestor(k8s): skipKubeletVerification is set: the kubelet's serving certificate is not verified, so anyone who can intercept the agent's connection to it can choose workloads' selectors",
      );
    }
  }

  async attest(pid: number, _peer: PeerCredentials): Promise<Selector[]> {
    const ref = locateContainer(this.#procRoot, pid);
    if (ref === undefined) return [];
    const started = this.pods.now();
    const deadline = started + this.config.retryTimeoutMs;
    let wait = this.config.retryIntervalMs;
    let snap: PodListSnapshot = await this.pods.get();
    for (let attempt = 1; ; attempt++) {
      const found = snap.index.find(ref.containerId, ref.podUid);
      if (found !== undefined) {
        return [...found.pod.selectors, ...found.selectors].map((value) => ({ type: K8S, value }));
      }
      // A cached list from before this call began may simply predate the container: ask again now.
      if (snap.requestedAt >= started) {
        const left = deadline - this.pods.now();
        if (left <= 0) {
          const pod = ref.podUid === undefined ? '' : ` in pod ${ref.podUid}`;
          throw new WorkloadAttestorError(
            K8S,
            WorkloadAttestorErrorCode.notFound,
            `container ${ref.containerId}${pod} of pid ${pid} is not in the kubelet's pod list after ${attempt} looks over ${this.config.retryTimeoutMs} ms (retryTimeoutMs)`,
          );
        }
        this.#logger?.debug({ pid, containerId: ref.containerId, attempt, waitMs: Math.min(wait, left) }, 'workloadattestor(k8s): container not listed by the kubelet yet; looking again');
        await sleep(Math.min(wait, left));
        wait = Math.min(wait * 2, MAX_RETRY_INTERVAL_MS);
      }
      snap = await this.pods.newerThan(snap);
    }
  }

  close(): void {
    this.#kubelet?.close();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
