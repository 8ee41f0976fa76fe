/**
 * A kubelet-compatible /pods server for tests and benchmarks: HTTPS with a serving certificate from
 * its own test CA (SAN 127.0.0.1), the kubelet's authentication rules (a client certificate signed
 * by the client CA, else a bearer token it accepts, else 401), or plain HTTP as the read-only port.
 * Containers can be hidden for a while (the kubelet lists a pod some time after its containers
 * start) and answers delayed. Pods are built in the kubelet's JSON shape, with the bulk real lists
 * carry (managed fields, annotations) when asked to.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { EKU, issue, KU, type Issued } from './x509-certs.js';

export interface TestContainer {
  name: string;
  /** 64 hex; listed as containerd://<id>. Absent: not started yet (no containerID). */
  id?: string;
  image?: string;
}

export interface TestPod {
  namespace: string;
  name: string;
  uid?: string;
  serviceAccount?: string;
  nodeName?: string;
  labels?: Record<string, string>;
  owner?: { kind: string; name: string; uid: string };
  containers: TestContainer[];
  initContainers?: TestContainer[];
  /** Bytes of annotations and managed fields, as real pods carry (for size). */
  padding?: number;
}

export const pem = (i: Issued): string => i.cert.toString();
export const keyPem = (i: Issued): string => i.key.export({ type: 'pkcs8', format: 'pem' }).toString();

/** A CA and a certificate it signed, for the kubelet's serving cert or a client. */
export function testCa(cn: string): Issued {
  return issue({ cn, ca: true, keyUsage: KU.keyCertSign | KU.cRLSign | KU.digitalSignature });
}

export function leafFor(ca: Issued, cn: string, usage: 'server' | 'client'): Issued {
  return issue(
    {
      cn,
      ca: false,
      keyUsage: KU.digitalSignature | KU.keyAgreement,
      extKeyUsage: [usage === 'server' ? EKU.serverAuth : EKU.clientAuth],
      ...(usage === 'server' ? { ips: [[127, 0, 0, 1]], dns: ['localhost'] } : {}),
    },
    ca,
  );
}

/** The container's image, the same default in the pod's spec and its status. */
const imageOf = (c: TestContainer): string => c.image ?? `registry.test/${c.name}:1.0`;

function containerStatus(c: TestContainer): Record<string, unknown> {
  const image = imageOf(c);
  return {
    name: c.name,
    state: c.id === undefined ? { waiting: { reason: 'ContainerCreating' } } : { running: { startedAt: '2026-01-01T00:00:00Z' } },
    ready: c.id !== undefined,
    restartCount: 0,
    image,
    imageID: c.id === undefined ? '' : `${image.split(':')[0]}@sha256:${'ab'.repeat(32)}`,
    ...(c.id === undefined ? {} : { containerID: `containerd://${c.id}` }),
  };
}

/** One pod as the kubelet's /pods lists it. */
export function podJson(p: TestPod): Record<string, unknown> {
  const pad = p.padding ?? 0;
  return {
    metadata: {
      name: p.name,
      namespace: p.namespace,
      uid: p.uid ?? randomUUID(),
      labels: p.labels ?? {},
      ...(p.owner === undefined ? {} : { ownerReferences: [{ apiVersion: 'apps/v1', kind: p.owner.kind, name: p.owner.name, uid: p.owner.uid, controller: true }] }),
      annotations: pad > 0 ? { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(Math.floor(pad / 2)) } : {},
      managedFields: pad > 0 ? [{ manager: 'kubelet', operation: 'Update', fieldsV1: { 'f:status': 'y'.repeat(Math.ceil(pad / 2)) } }] : [],
    },
    spec: {
      serviceAccountName: p.serviceAccount ?? 'default',
      nodeName: p.nodeName ?? 'node-1',
      containers: p.containers.map((c) => ({ name: c.name, image: imageOf(c) })),
    },
    status: {
      phase: 'Running',
      initContainerStatuses: (p.initContainers ?? []).map(containerStatus),
      containerStatuses: p.containers.map(containerStatus),
    },
  };
}

export interface TestKubeletOptions {
  /** Plain HTTP, as the read-only port 10255. */
  readOnly?: boolean;
  /** Bearer tokens accepted (mutable). */
  tokens?: Set<string>;
  /** CA whose client certificates are accepted. */
  clientCa?: Issued;
}

export class TestKubelet {
  readonly ca = testCa('kubelet-ca');
  readonly serving = leafFor(this.ca, 'node-1', 'server');
  pods: TestPod[] = [];
  readonly tokens: Set<string>;
  /** Every /pods request, accepted or not. */
  requests = 0;
  /** ms each answer waits before it is sent. */
  delayMs = 0;
  /** Replaces the answer to an authorized request (a kubelet misbehaving); undefined: the pod list. */
  respond: ((res: http.ServerResponse) => void) | undefined;
  readonly #hidden = new Map<string, number>();
  readonly #server: http.Server;
  readonly #readOnly: boolean;

  constructor(options: TestKubeletOptions = {}) {
    this.tokens = options.tokens ?? new Set();
    this.#readOnly = options.readOnly ?? false;
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.#handle(req, res);
    this.#server = this.#readOnly
      ? http.createServer(handler)
      : https.createServer(
          {
            cert: pem(this.serving),
            key: keyPem(this.serving),
            requestCert: options.clientCa !== undefined,
            rejectUnauthorized: false,
            ...(options.clientCa === undefined ? {} : { ca: pem(options.clientCa) }),
          },
          handler,
        );
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const { port } = this.#server.address() as AddressInfo;
    return `${this.#readOnly ? 'http' : 'https'}://127.0.0.1:${port}`;
  }

  /**
   * Leaves `containerId` out of the next `answers` pod lists (kubelet lag; Infinity: until hidden
   * again with a count). Counted in answers, not time, so a slow machine sees the same exchange.
   */
  hide(containerId: string, answers: number): void {
    this.#hidden.set(containerId, answers);
  }

  /** Pod lists still to be answered without `containerId`. */
  hiddenFor(containerId: string): number {
    return this.#hidden.get(containerId) ?? 0;
  }

  /** The next answer's list; each call counts against the hidden containers. */
  body(): string {
    const hidden = new Set([...this.#hidden].filter(([, left]) => left > 0).map(([id]) => id));
    for (const id of hidden) this.#hidden.set(id, this.#hidden.get(id)! - 1);
    const visible = (c: TestContainer): boolean => c.id === undefined || !hidden.has(c.id);
    const items = this.pods
      .map((p) => ({ ...p, containers: p.containers.filter(visible), initContainers: (p.initContainers ?? []).filter(visible) }))
      .filter((p) => p.containers.length > 0 || p.initContainers.length > 0)
      .map(podJson);
    return JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items });
  }

  #authorized(req: http.IncomingMessage): boolean {
    if (this.#readOnly) return true;
    if ((req.socket as TLSSocket).authorized) return true;
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    return m !== null && this.tokens.has(m[1]!);
  }

  #handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.url !== '/pods' || req.method !== 'GET') {
      res.writeHead(404).end('404 page not found\n');
      return;
    }
    this.requests++;
    if (!this.#authorized(req)) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    const send = (): void => {
      if (this.respond !== undefined) this.respond(res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(this.body());
    };
    if (this.delayMs > 0) setTimeout(send, this.delayMs);
    else send();
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** 64 random hex digits: a container ID no other test uses. */
export function randomContainerId(): string {
  return (randomUUID() + randomUUID()).replaceAll('-', '');
}
