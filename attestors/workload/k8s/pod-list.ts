/**
 * The kubelet's `/pods` answer reduced to what selectors need. A node's pod list runs to a
 * megabyte and more (managed fields, annotations, volumes, specs); the index keeps, per container
 * ID, the selector values of the container and of its pod, computed once per fetch, and nothing of
 * the JSON. Every concurrent caller then looks up a map instead of walking the list.
 *
 * Selector values are SPIRE's k8s attestor's, so entries move from SPIRE unchanged:
 *   pod:       sa  ns  node-name  pod-uid  pod-name  pod-image-count  pod-init-image-count
 *              pod-image (Image and ImageID of each container)  pod-init-image (of each init container)
 *              pod-label:K:V  pod-owner:Kind:Name  pod-owner-uid:Kind:UID
 *   container: container-name  container-image (Image and ImageID)
 * Empty image strings (a container still being pulled) give no selector rather than `pod-image:`.
 */
import { K8S } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';

export interface PodRecord {
  uid: string;
  /** `namespace/name`, for messages. */
  ref: string;
  selectors: readonly string[];
}

export interface ContainerRecord {
  pod: PodRecord;
  selectors: readonly string[];
}

export class PodIndex {
  readonly #byContainer = new Map<string, ContainerRecord[]>();
  #pods = 0;

  get podCount(): number {
    return this.#pods;
  }

  get containerCount(): number {
    return this.#byContainer.size;
  }

  /** Exported for the parser below. */
  add(pod: PodRecord, containers: readonly { id: string; selectors: readonly string[] }[]): void {
    this.#pods++;
    for (const c of containers) {
      const list = this.#byContainer.get(c.id);
      const rec = { pod, selectors: c.selectors };
      if (list === undefined) this.#byContainer.set(c.id, [rec]);
      else list.push(rec);
    }
  }

  /**
   * The container's record, undefined when the kubelet does not list it (yet). With `podUid` (from
   * the cgroup path) only that pod counts; two pods claiming the same container is refused, as in SPIRE.
   */
  find(containerId: string, podUid?: string): ContainerRecord | undefined {
    const found = (this.#byContainer.get(containerId) ?? []).filter((r) => podUid === undefined || r.pod.uid === podUid);
    if (found.length > 1) {
      throw new WorkloadAttestorError(
        K8S,
        WorkloadAttestorErrorCode.ambiguous,
        `two pods found with the same container ID ${containerId}: ${found.map((r) => `${r.pod.ref} (uid ${r.pod.uid})`).join(', ')}`,
      );
    }
    return found[0];
  }
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isObject) : []);
const obj = (v: unknown): Json => (isObject(v) ? v : {});

/** `containerd://<id>` → `<id>`: the runtime prefix is not part of what the cgroup path names. */
export function containerIdOf(statusId: string): string {
  const sep = statusId.indexOf('://');
  return sep < 0 ? statusId : statusId.slice(sep + 3);
}

/** Parses the body of GET /pods (a PodList, or the `kind: List` some kubelets answer). */
export function parsePodList(body: string, source: string): PodIndex {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    throw new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `${source} answered with something that is not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc) || !Array.isArray(doc['items'])) {
    throw new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `${source} answered JSON that is not a pod list (no items array)`);
  }
  const index = new PodIndex();
  for (const item of list(doc['items'])) addPod(index, item);
  return index;
}

function addPod(index: PodIndex, pod: Json): void {
  const meta = obj(pod['metadata']);
  const spec = obj(pod['spec']);
  const status = obj(pod['status']);
  const containers = list(status['containerStatuses']);
  const inits = list(status['initContainerStatuses']);
  const uid = str(meta['uid']);
  const values = [
    `sa:${str(spec['serviceAccountName'])}`,
    `ns:${str(meta['namespace'])}`,
    `node-name:${str(spec['nodeName'])}`,
    `pod-uid:${uid}`,
    `pod-name:${str(meta['name'])}`,
    `pod-image-count:${containers.length}`,
    `pod-init-image-count:${inits.length}`,
  ];
  for (const c of containers) for (const image of imagesOf(c)) values.push(`pod-image:${image}`);
  for (const c of inits) for (const image of imagesOf(c)) values.push(`pod-init-image:${image}`);
  for (const [k, v] of Object.entries(obj(meta['labels']))) values.push(`pod-label:${k}:${str(v)}`);
  for (const owner of list(meta['ownerReferences'])) {
    values.push(`pod-owner:${str(owner['kind'])}:${str(owner['name'])}`);
    values.push(`pod-owner-uid:${str(owner['kind'])}:${str(owner['uid'])}`);
  }
  const record: PodRecord = { uid, ref: `${str(meta['namespace'])}/${str(meta['name'])}`, selectors: [...new Set(values)] };
  const statuses = [...inits, ...containers, ...list(status['ephemeralContainerStatuses'])];
  const withIds = statuses
    .map((c) => ({ id: containerIdOf(str(c['containerID'])), c }))
    // A container not started yet has no ID: it cannot be the caller, and is not indexed.
    .filter(({ id }) => id !== '')
    .map(({ id, c }) => ({ id, selectors: [`container-name:${str(c['name'])}`, ...imagesOf(c).map((i) => `container-image:${i}`)] }));
  index.add(record, withIds);
}

function imagesOf(status: Json): string[] {
  return [str(status['image']), str(status['imageID'])].filter((s) => s !== '');
}
