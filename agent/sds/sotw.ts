/**
 * StreamSecrets (state of the world), the variant Envoy uses with `api_type: GRPC`: one stream per
 * secret name in practice, any number of names allowed.
 *
 * - Every response carries the stream's next version ("1", "2", …) and a fresh nonce.
 * - A request echoing an older nonce than the last one sent is stale and ignored entirely.
 * - An ACK (or a NACK, error_detail logged) with the same names gets no response; a response goes
 *   out on the first request, when the names change, and when the content of the named secrets
 *   changes (SVID rotation, bundle change, validator choice) — never the same content twice, so a
 *   NACKed secret is not resent in a loop.
 * - Names the caller holds nothing by are withheld and remembered (the xDS rule for SotW; SPIRE ends
 *   the stream instead): they are sent the moment an entry gives them, and logged once.
 * - An empty name list is the wildcard (everything, SPIRE's reading) only until a non-empty list has
 *   been sent; after that it unsubscribes from everything, as xDS says.
 */
import type { IdentitySnapshot } from '../cache/workload-view.js';
import type { DiscoveryRequestMsg, DiscoveryResponseMsg, NodeMsg } from './messages.js';
import { SECRET_TYPE_URL } from './messages.js';
import { wildcardNames } from './names.js';
import { useSpiffeValidator } from './node.js';
import { CONTROL_PLANE, checkTypeUrl, keepNode, MissingNames, NackLog, randomNonce, requestedNames, type StreamContext } from './protocol.js';
import { secretsFor } from './secrets.js';

export class SotwStream {
  readonly #ctx: StreamContext;
  readonly #send: (res: DiscoveryResponseMsg) => void;
  readonly #nonce: () => string;
  readonly #missing: MissingNames;
  readonly #nacks: NackLog;
  #snap: IdentitySnapshot | undefined;
  #node: NodeMsg | undefined;
  /** Undefined until the first request; `wildcard` for an empty list read as everything. */
  #names: readonly string[] | 'wildcard' | undefined;
  #everNamed = false;
  #version = 0;
  #lastNonce = '';
  /** Names and versions of the last response, to tell a change from a repeat. */
  #lastContent: string | undefined;

  constructor(ctx: StreamContext, send: (res: DiscoveryResponseMsg) => void) {
    this.#ctx = ctx;
    this.#send = send;
    this.#nonce = ctx.nonce ?? randomNonce;
    this.#missing = new MissingNames(ctx);
    this.#nacks = new NackLog(ctx);
  }

  /** The version of the last response sent ("" before any). */
  get version(): string {
    return this.#version === 0 ? '' : String(this.#version);
  }

  /** Throws an RpcError to end the stream. */
  onRequest(req: DiscoveryRequestMsg): void {
    checkTypeUrl(req.type_url);
    this.#nacks.note(req.error_detail, req.response_nonce, { names: req.resource_names, applied: req.version_info });
    if (this.#lastNonce !== '' && req.response_nonce !== this.#lastNonce) {
      this.#ctx.logger.debug({ ...this.#ctx.fields, nonce: req.response_nonce, expected: this.#lastNonce }, 'sds: ignoring a request with a stale nonce');
      return;
    }
    this.#node = keepNode(this.#node, req.node);
    const names = this.#subscription(req.resource_names);
    const changed = this.#names === undefined || !sameNames(this.#names, names);
    this.#names = names;
    if (changed) this.#respond(true);
  }

  /** A new state from the cache for this caller. Throws an RpcError to end the stream. */
  onSnapshot(snap: IdentitySnapshot): void {
    this.#snap = snap;
    if (this.#names !== undefined) this.#respond(false);
  }

  #subscription(requested: readonly string[]): readonly string[] | 'wildcard' {
    const names = requestedNames(requested);
    if (names.length > 0) this.#everNamed = true;
    return names.length === 0 && !this.#everNamed ? 'wildcard' : names;
  }

  #respond(namesChanged: boolean): void {
    const snap = this.#snap;
    if (snap === undefined || this.#names === undefined) return;
    const names = this.#names === 'wildcard' ? wildcardNames(snap) : this.#names;
    const validator = useSpiffeValidator(this.#node, this.#ctx.settings.disableSpiffeCertValidation);
    const { found, missing } = secretsFor(names, snap, this.#ctx.settings, validator);
    this.#missing.report(missing);
    const content = found.map((f) => `${f.name}\0${f.version}`).join('\0');
    // Nothing to give, and nothing given before: wait (Envoy's initial_fetch_timeout bounds its wait).
    if (found.length === 0 && (this.#lastContent === undefined || this.#lastContent === '')) return;
    if (!namesChanged && content === this.#lastContent) return;
    this.#version++;
    this.#lastNonce = this.#nonce();
    this.#lastContent = content;
    this.#send({
      version_info: String(this.#version),
      resources: found.map((f) => f.secret),
      type_url: SECRET_TYPE_URL,
      nonce: this.#lastNonce,
      control_plane: CONTROL_PLANE,
    });
  }
}

function sameNames(a: readonly string[] | 'wildcard', b: readonly string[] | 'wildcard'): boolean {
  if (a === 'wildcard' || b === 'wildcard') return a === b;
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((n) => set.has(n));
}
