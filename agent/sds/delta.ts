/**
 * DeltaSecrets (incremental xDS), for Envoy with `api_type: DELTA_GRPC`. SPIRE answers
 * Unimplemented; sigil serves it.
 *
 * - The stream tracks the names subscribed and, per name, the version the client holds ("" once it
 *   has been told the name does not exist). A response carries only what differs: changed or newly
 *   subscribed secrets as Resources (version = content hash), and in removed_resources the names the
 *   caller holds nothing by, each said once until it changes.
 * - Subscribing sends the name even when unchanged, as xDS requires, unless the first request's
 *   initial_resource_versions shows the client already has that very version (a reconnect).
 * - Subscription changes are honoured whatever the nonce; ACKs and NACKs need no answer, and a NACKed
 *   version is not sent again until its content changes.
 * - `*` subscribes to every secret the caller holds, by canonical names (the SotW wildcard's set);
 *   a name it covered that goes away, and is not subscribed by name, goes in removed_resources.
 */
import type { IdentitySnapshot } from '../cache/workload-view.js';
import type { DeltaDiscoveryRequestMsg, DeltaDiscoveryResponseMsg, NodeMsg, ResourceMsg } from './messages.js';
import { SECRET_TYPE_URL } from './messages.js';
import { wildcardNames } from './names.js';
import { useSpiffeValidator } from './node.js';
import { CONTROL_PLANE, checkNameCount, checkTypeUrl, keepNode, MissingNames, NackLog, randomNonce, type StreamContext } from './protocol.js';
import { secretsFor } from './secrets.js';

/** The version recorded for a name the client was told does not exist. */
const ABSENT = '';
/** xDS's explicit wildcard subscription. */
const WILDCARD = '*';

export class DeltaStream {
  readonly #ctx: StreamContext;
  readonly #send: (res: DeltaDiscoveryResponseMsg) => void;
  readonly #nonce: () => string;
  readonly #missing: MissingNames;
  readonly #nacks: NackLog;
  #snap: IdentitySnapshot | undefined;
  #node: NodeMsg | undefined;
  readonly #subscribed = new Set<string>();
  /** Per subscribed name, what the client holds as far as this stream knows. */
  readonly #held = new Map<string, string>();
  #first = true;
  #responses = 0;

  constructor(ctx: StreamContext, send: (res: DeltaDiscoveryResponseMsg) => void) {
    this.#ctx = ctx;
    this.#send = send;
    this.#nonce = ctx.nonce ?? randomNonce;
    this.#missing = new MissingNames(ctx);
    this.#nacks = new NackLog(ctx);
  }

  get subscribed(): readonly string[] {
    return [...this.#subscribed];
  }

  onRequest(req: DeltaDiscoveryRequestMsg): void {
    checkTypeUrl(req.type_url);
    this.#nacks.note(req.error_detail, req.response_nonce);
    this.#node = keepNode(this.#node, req.node);
    const initial = this.#first ? req.initial_resource_versions : {};
    this.#first = false;
    for (const name of req.resource_names_unsubscribe) {
      this.#subscribed.delete(name);
      this.#held.delete(name);
    }
    for (const name of req.resource_names_subscribe) {
      if (name === '') continue;
      this.#subscribed.add(name);
      const has = initial[name];
      if (has !== undefined && has !== '') this.#held.set(name, has);
      else this.#held.delete(name);
    }
    if (this.#subscribed.has(WILDCARD)) {
      for (const [name, has] of Object.entries(initial)) if (name !== WILDCARD && !this.#subscribed.has(name) && has !== '') this.#held.set(name, has);
    } else {
      // What only the wildcard gave is no longer tracked once it is unsubscribed.
      for (const name of this.#held.keys()) if (!this.#subscribed.has(name)) this.#held.delete(name);
    }
    checkNameCount(this.#subscribed.size);
    this.#respond();
  }

  onSnapshot(snap: IdentitySnapshot): void {
    this.#snap = snap;
    this.#respond();
  }

  #respond(): void {
    const snap = this.#snap;
    if (snap === undefined || this.#subscribed.size === 0) return;
    const validator = useSpiffeValidator(this.#node, this.#ctx.settings.disableSpiffeCertValidation);
    const named = [...this.#subscribed].filter((n) => n !== WILDCARD);
    const tracked = new Set(named);
    if (this.#subscribed.has(WILDCARD)) for (const name of wildcardNames(snap)) tracked.add(name);
    const { found, missing } = secretsFor([...tracked], snap, this.#ctx.settings, validator);
    const resources: ResourceMsg[] = [];
    for (const f of found) {
      if (this.#held.get(f.name) === f.version) continue;
      this.#held.set(f.name, f.version);
      resources.push({ name: f.name, version: f.version, resource: f.secret });
    }
    const removed = missing.filter((name) => this.#held.get(name) !== ABSENT);
    this.#missing.report(missing);
    for (const name of removed) this.#held.set(name, ABSENT);
    // Held through the wildcard only, and no longer among what it covers: gone.
    for (const name of this.#held.keys()) {
      if (tracked.has(name)) continue;
      this.#held.delete(name);
      removed.push(name);
    }
    if (resources.length === 0 && removed.length === 0) return;
    this.#send({
      system_version_info: String(++this.#responses),
      resources,
      type_url: SECRET_TYPE_URL,
      removed_resources: removed,
      nonce: this.#nonce(),
      control_plane: CONTROL_PLANE,
    });
  }
}

/**
 * One response carrying what `unwritten` and then `next` said, for a stream that could not write
 * `unwritten` before `next` came: the newer word on a name wins, and the nonce is `next`'s.
 */
export function foldDelta(unwritten: DeltaDiscoveryResponseMsg, next: DeltaDiscoveryResponseMsg): DeltaDiscoveryResponseMsg {
  const resources = new Map(unwritten.resources.map((r) => [r.name, r]));
  const removed = new Set(unwritten.removed_resources);
  for (const name of next.removed_resources) {
    resources.delete(name);
    removed.add(name);
  }
  for (const r of next.resources) {
    removed.delete(r.name);
    resources.set(r.name, r);
  }
  return { ...next, resources: [...resources.values()], removed_resources: [...removed] };
}
