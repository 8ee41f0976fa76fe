/**
 * An SDS client that behaves as Envoy does (envoy-sds.md 2.1, 2.2), built from Envoy's own protos as
 * shipped in @grpc/grpc-js-xds, never from sigil's proto/envoy subset: a field number or type URL
 * sigil got wrong shows up here as a decoding or acceptance failure.
 *
 * Like Envoy it opens one StreamSecrets stream per secret name, sends the node, an empty version and
 * nonce first, then ACKs every response it applies (version_info = that response's version,
 * response_nonce = its nonce) and NACKs one it cannot (error_detail code 13, version_info = the last
 * version it applied). It applies Envoy's checks: a response for another type URL is ignored; every
 * Any must carry the response's type URL; names must be unique; exactly one secret of the watched
 * name and kind; SPIFFE validator trust domains named without `spiffe://`; PEM that node:crypto
 * parses, and a key that matches its certificate.
 */
import { Client, credentials, type ClientDuplexStream, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { REPO_ROOT } from './shared.js';

export const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
export const SPIFFE_VALIDATOR_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig';
const SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';
const DEPS = join(REPO_ROOT, 'node_modules', '@grpc', 'grpc-js-xds', 'deps');

type Method = MethodDefinition<object, object>;
let methods: Record<string, Method> | undefined;

/** Envoy's SecretDiscoveryService from Envoy's protos, with Anys decoded as `{ '@type', ...fields }`. */
export function envoySdsMethods(): Record<string, Method> {
  methods ??= loadSync(
    [
      'envoy/service/secret/v3/sds.proto',
      'envoy/extensions/transport_sockets/tls/v3/secret.proto',
      'envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.proto',
    ],
    {
      keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, json: true,
      includeDirs: ['envoy-api', 'googleapis', 'protoc-gen-validate', 'xds'].map((d) => join(DEPS, d)),
    },
  )[SERVICE] as Record<string, Method>;
  return methods;
}

export interface DataSource {
  inline_bytes?: Buffer;
  specifier?: string;
}

export interface SpiffeTrustDomain {
  name: string;
  trust_bundle: DataSource | null;
}

export interface EnvoySecret {
  '@type': string;
  name: string;
  type?: string;
  tls_certificate?: { certificate_chain: DataSource | null; private_key: DataSource | null } | null;
  validation_context?: {
    trusted_ca: DataSource | null;
    custom_validator_config: { name: string; typed_config: { '@type': string; trust_domains: SpiffeTrustDomain[] } | null } | null;
  } | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: EnvoySecret[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string } | null;
}

export interface DeltaResponse {
  system_version_info: string;
  resources: { name: string; version: string; resource: EnvoySecret }[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
}

export interface NodeOptions {
  id?: string;
  /** Envoy's build version; 'none' sends no user_agent_build_version (as a non-Envoy client). */
  version?: readonly [number, number, number] | 'none';
  /** node.metadata.disable_spiffe_cert_validation, as a bool or a string. */
  disableSpiffeCertValidation?: boolean | string;
}

export function envoyNode(o: NodeOptions = {}): object {
  const v = o.version ?? [1, 34, 1];
  const d = o.disableSpiffeCertValidation;
  return {
    id: o.id ?? 'sidecar-1',
    cluster: 'test',
    user_agent_name: 'envoy',
    ...(v === 'none' ? {} : { user_agent_build_version: { version: { major_number: v[0], minor_number: v[1], patch: v[2] } } }),
    // google.protobuf.Struct keeps protobufjs's camelCase (envoy-sds.md 1.0).
    ...(d === undefined ? {} : { metadata: { fields: { disable_spiffe_cert_validation: typeof d === 'boolean' ? { boolValue: d } : { stringValue: d } } } }),
    // What Envoy sends and an SDS server must skip.
    locality: { region: 'r1', zone: 'z1' },
    client_features: ['envoy.lb.does_not_support_overprovisioning'],
  };
}

export type SecretKind = 'certificate' | 'validation';

/** Envoy's per-secret checks; throws the text Envoy would NACK with. */
export function checkSecret(secret: EnvoySecret, kind: SecretKind): void {
  if (kind === 'certificate') {
    const t = secret.tls_certificate;
    if (t === null || t === undefined) throw new Error(`secret ${secret.name} is not a tls_certificate (${secret.type})`);
    const chainPem = t.certificate_chain?.inline_bytes;
    const keyPem = t.private_key?.inline_bytes;
    if (chainPem === undefined || keyPem === undefined) throw new Error('tls_certificate without inline_bytes chain and key');
    const leaf = new X509Certificate(chainPem);
    const key = createPrivateKey(keyPem);
    if (!leaf.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
    if (!/-----BEGIN PRIVATE KEY-----/.test(keyPem.toString())) throw new Error('the key is not PKCS#8 PEM');
    return;
  }
  const v = secret.validation_context;
  if (v === null || v === undefined) throw new Error(`secret ${secret.name} is not a validation_context (${secret.type})`);
  const custom = v.custom_validator_config;
  if (custom !== null && custom !== undefined) {
    const cfg = custom.typed_config;
    if (cfg === null || cfg['@type'] !== SPIFFE_VALIDATOR_TYPE) throw new Error(`custom validator of type ${cfg?.['@type']}`);
    if (cfg.trust_domains.length === 0) throw new Error('SPIFFECertValidatorConfig has no trust domains');
    for (const td of cfg.trust_domains) {
      if (td.name === '' || td.name.includes('://')) throw new Error(`trust domain name ${JSON.stringify(td.name)} must be a bare name`);
      const pem = td.trust_bundle?.inline_bytes;
      if (pem === undefined || pem.length === 0) throw new Error(`trust domain ${td.name} has no trust bundle`);
      new X509Certificate(pem);
    }
    return;
  }
  const ca = v.trusted_ca?.inline_bytes;
  if (ca === undefined || ca.length === 0) throw new Error('validation_context has neither trusted_ca nor a custom validator');
  new X509Certificate(ca);
}

/** Resolves when `pred` holds, checking after every event; rejects after `ms`. */
class Waiter {
  readonly #waiters: (() => void)[] = [];
  wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
  async until(pred: () => boolean, ms: number, what: string, state: () => string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (${state()})`);
      // Woken by every event on the stream, and every 50 ms for conditions outside it.
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

export interface WatchOptions {
  node?: NodeOptions;
  /** version_info of the first request: a reconnect sends the version it last applied. */
  initialVersion?: string;
  /** Extra acceptance check; throwing makes the client NACK with the message. */
  accept?: (secret: EnvoySecret) => void;
}

/** One StreamSecrets stream for one name, as an Envoy SdsApi keeps it. */
export class SecretWatch {
  readonly call: ClientDuplexStream<object, DiscoveryResponse>;
  readonly responses: DiscoveryResponse[] = [];
  readonly requests: Record<string, unknown>[] = [];
  /** Responses Envoy would drop unseen (type URL with no subscription). */
  ignored = 0;
  nacks = 0;
  /** The secret applied last, its version, and every applied one in order. */
  secret: EnvoySecret | undefined;
  version = '';
  readonly applied: EnvoySecret[] = [];
  status: StatusObject | undefined;
  readonly #waiter = new Waiter();
  readonly #node: object;

  constructor(
    client: Client,
    readonly name: string,
    readonly kind: SecretKind,
    readonly opts: WatchOptions = {},
  ) {
    const m = envoySdsMethods()['StreamSecrets']!;
    this.call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<object, DiscoveryResponse>;
    this.#node = envoyNode(opts.node);
    this.call.on('data', (res: DiscoveryResponse) => this.#onResponse(res));
    this.call.on('error', () => undefined);
    this.call.on('status', (s: StatusObject) => {
      this.status = s;
      this.#waiter.wake();
    });
    this.version = opts.initialVersion ?? '';
    this.send({ version_info: this.version, resource_names: [name], response_nonce: '' });
  }

  /** Sends a request on the stream as is (node and type URL added unless given). */
  send(req: Record<string, unknown>): void {
    const full = { node: this.#node, type_url: SECRET_TYPE, ...req };
    this.requests.push(full);
    this.call.write(full);
  }

  #onResponse(res: DiscoveryResponse): void {
    this.responses.push(res);
    try {
      if (res.type_url !== SECRET_TYPE) {
        this.ignored++;
        return;
      }
      const names = new Set<string>();
      for (const r of res.resources) {
        if (r['@type'] !== res.type_url) throw new Error(`${r['@type']} does not match the message-wide type URL ${res.type_url}`);
        if (names.has(r.name)) throw new Error(`duplicate resource name ${r.name}`);
        names.add(r.name);
      }
      const mine = res.resources.filter((r) => r.name === this.name);
      if (mine.length > 1) throw new Error(`Unexpected SDS secrets length: ${mine.length}`);
      const secret = mine[0];
      if (secret !== undefined) {
        checkSecret(secret, this.kind);
        this.opts.accept?.(secret);
        this.secret = secret;
        this.applied.push(secret);
      }
      // A response without the watched name still counts as applied (Envoy records its version).
      this.version = res.version_info;
      this.send({ version_info: res.version_info, resource_names: [this.name], response_nonce: res.nonce });
    } catch (err) {
      this.nacks++;
      this.send({
        version_info: this.version, resource_names: [this.name], response_nonce: res.nonce,
        error_detail: { code: 13, message: (err as Error).message },
      });
    } finally {
      this.#waiter.wake();
    }
  }

  until(pred: (w: this) => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    return this.#waiter.until(() => pred(this), ms, what, () => `responses ${this.responses.length}, nacks ${this.nacks}, status ${this.status?.code} ${this.status?.details ?? ''}`);
  }

  /** The first secret applied (waits for it). */
  async ready(ms = 10_000): Promise<EnvoySecret> {
    await this.until((w) => w.secret !== undefined || w.status !== undefined, ms, `secret ${this.name}`);
    if (this.secret === undefined) throw new Error(`stream for ${this.name} ended: ${this.status?.code} ${this.status?.details}`);
    return this.secret;
  }

  ended(ms = 10_000): Promise<void> {
    return this.until((w) => w.status !== undefined, ms, 'the end of the stream');
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** One DeltaSecrets stream, subscribing and unsubscribing as Envoy's delta mux does. */
export class DeltaWatch {
  readonly call: ClientDuplexStream<object, DeltaResponse>;
  readonly responses: DeltaResponse[] = [];
  readonly requests: Record<string, unknown>[] = [];
  readonly secrets = new Map<string, { version: string; secret: EnvoySecret }>();
  readonly removed: string[] = [];
  nacks = 0;
  status: StatusObject | undefined;
  readonly #waiter = new Waiter();
  #first = true;

  constructor(
    client: Client,
    readonly opts: { node?: NodeOptions; kinds?: Record<string, SecretKind>; accept?: (secret: EnvoySecret) => void } = {},
  ) {
    const m = envoySdsMethods()['DeltaSecrets']!;
    this.call = client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<object, DeltaResponse>;
    this.call.on('data', (res: DeltaResponse) => this.#onResponse(res));
    this.call.on('error', () => undefined);
    this.call.on('status', (s: StatusObject) => {
      this.status = s;
      this.#waiter.wake();
    });
  }

  send(req: Record<string, unknown>): void {
    const full = { type_url: SECRET_TYPE, ...(this.#first ? { node: envoyNode(this.opts.node) } : {}), ...req };
    this.#first = false;
    this.requests.push(full);
    this.call.write(full);
  }

  subscribe(names: string[], initialVersions?: Record<string, string>): void {
    this.send({ resource_names_subscribe: names, ...(initialVersions !== undefined ? { initial_resource_versions: initialVersions } : {}) });
  }

  unsubscribe(names: string[]): void {
    this.send({ resource_names_unsubscribe: names });
  }

  #onResponse(res: DeltaResponse): void {
    this.responses.push(res);
    try {
      if (res.type_url !== SECRET_TYPE) throw new Error(`type URL ${res.type_url}`);
      if (res.nonce === '') throw new Error('a delta response without a nonce');
      for (const r of res.resources) {
        if (r.resource['@type'] !== res.type_url) throw new Error(`${r.resource['@type']} does not match the message-wide type URL`);
        if (r.resource.name !== r.name) throw new Error(`Unexpected SDS secret (expecting ${r.name}): ${r.resource.name}`);
        const kind = this.opts.kinds?.[r.name];
        if (kind !== undefined) checkSecret(r.resource, kind);
        this.opts.accept?.(r.resource);
      }
      for (const r of res.resources) this.secrets.set(r.name, { version: r.version, secret: r.resource });
      for (const name of res.removed_resources) {
        this.secrets.delete(name);
        this.removed.push(name);
      }
      this.send({ response_nonce: res.nonce });
    } catch (err) {
      this.nacks++;
      this.send({ response_nonce: res.nonce, error_detail: { code: 13, message: (err as Error).message } });
    } finally {
      this.#waiter.wake();
    }
  }

  until(pred: (w: this) => boolean, ms = 10_000, what = 'condition'): Promise<void> {
    return this.#waiter.until(() => pred(this), ms, what, () => `responses ${this.responses.length}, nacks ${this.nacks}, status ${this.status?.code} ${this.status?.details ?? ''}`);
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** An Envoy's connection to the SDS server on a Unix socket; each watch is its own stream. */
export class EnvoySdsClient {
  readonly client: Client;

  constructor(socketPath: string) {
    this.client = new Client(`unix://${socketPath}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  watch(name: string, kind: SecretKind, opts?: WatchOptions): SecretWatch {
    return new SecretWatch(this.client, name, kind, opts);
  }

  delta(opts?: ConstructorParameters<typeof DeltaWatch>[1]): DeltaWatch {
    return new DeltaWatch(this.client, opts);
  }

  fetch(names: string[], node?: NodeOptions, typeUrl = SECRET_TYPE): Promise<DiscoveryResponse> {
    const m = envoySdsMethods()['FetchSecrets']!;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        m.path, m.requestSerialize, m.responseDeserialize,
        { node: envoyNode(node), resource_names: names, type_url: typeUrl },
        { deadline: Date.now() + 10_000 },
        (err: ServiceError | null, res?: object) => (err ? reject(err) : resolve(res as DiscoveryResponse)),
      );
    });
  }

  close(): void {
    this.client.close();
  }
}
