/**
 * The server's CA: one X.509 CA and one JWT signing key, found again on restart through this
 * server instance's journal and the KeyManager, published into the trust domain's bundle, and
 * used to issue X.509-SVIDs (workloads, agents, the server itself) and JWT-SVIDs.
 *
 * Rotation (rotation.ts: prepare the next authority at ½ of the current one's life, activate it
 * at ⅚, prune the old one once expired) swaps the active authority in the shared state; issuance
 * reads it once per call, so a swap takes effect for the next request and callers do not change.
 * The rotation timer runs only once startRotation() is called (the server does; unit tests drive
 * rotation with a fake clock instead).
 */
import type { X509Certificate } from 'node:crypto';
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { SpiffeId, type TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { PublicKeyInput } from '../../spiffe/x509svid/signer.js';
import { BundlePublisher } from './bundle-publisher.js';
import { resolveConfig, type CaConfig, type ServerCaOptions } from './config.js';
import { CaError, CaErrorCode } from './errors.js';
import { describeAuthorities, type CaAuthorities } from './describe.js';
import { issueJwtSvid, type IssuedJwtSvid, type JwtSvidRequest } from './jwt-issuer.js';
import type { KindName } from './kinds.js';
import { Rotator } from './rotation.js';
import { loadAuthorities, type CaState } from './startup.js';
import {
  issueX509Svid, issueX509Svids, type IssuedX509Svid, type X509IssueContext, type X509SvidRequest, type X509SvidResult,
} from './x509-issuer.js';

export type { ServerCaOptions } from './config.js';

export interface AgentSvidRequest {
  /** `spiffe://<td>/sigil/agent/<attestor>/<id>`. */
  agentId: SpiffeId;
  publicKey: PublicKeyInput;
  /** Absent or 0: agentSvidTtlSeconds. */
  ttlSeconds?: number;
}

export interface ServerSvidRequest {
  publicKey: PublicKeyInput;
  /** Names agents dial the server by, for its TLS certificate. */
  dnsNames?: readonly string[];
  /** Addresses agents dial the server by (IPv4 or IPv6 literals), for its TLS certificate. */
  ipAddresses?: readonly string[];
  ttlSeconds?: number;
}

export interface AuthorityInfo {
  /** X.509: the hex SKID; JWT: the kid. */
  id: string;
  keyLocation: string;
  notAfter: Date;
}

export type CaStatus =
  | { ready: true; x509: AuthorityInfo & { upstream: boolean }; jwt: AuthorityInfo }
  | { ready: false; reason: string };

export interface RotateRequest {
  /** Which authorities; default both. */
  kinds?: readonly KindName[];
  /** Prepare the next authority now (replacing one already prepared). */
  prepare: boolean;
  /** Activate the prepared authority now (after preparing it, when `prepare` is set too). */
  activate: boolean;
}

export class ServerCa {
  readonly #config: CaConfig;
  readonly #publisher: BundlePublisher;
  /** The active and prepared authorities; the rotator swaps them. */
  readonly #state: CaState;
  readonly #rotator: Rotator;

  private constructor(config: CaConfig, publisher: BundlePublisher, state: CaState) {
    this.#config = config;
    this.#publisher = publisher;
    this.#state = state;
    this.#rotator = new Rotator(config, publisher, state);
  }

  get #x509() {
    return this.#state.x509.active;
  }

  get #jwt() {
    return this.#state.jwt.active;
  }

  /**
   * Finds this instance's CA and JWT key (journal + KeyManager) or creates them, records them in
   * the journal and makes sure the bundle holds them.
   */
  static async start(options: ServerCaOptions): Promise<ServerCa> {
    const serverId = SpiffeId.fromSegments(options.trustDomain, 'sigil', 'server');
    const config = resolveConfig(options, serverId);
    const publisher = new BundlePublisher(config.bundles, config.trustDomain, {
      refreshHintSeconds: config.bundleRefreshHintSeconds,
    });
    return new ServerCa(config, publisher, await loadAuthorities(config, publisher));
  }

  /** Starts the rotation timer (its first step runs at once); stop() ends it. */
  startRotation(): { stop(): Promise<void> } {
    this.#rotator.start();
    return { stop: () => this.#rotator.stop() };
  }

  /** Runs the rotation steps due now (what the timer does); for tests driving a fake clock. */
  rotateIfDue(): Promise<void> {
    return this.#rotator.tick();
  }

  /** Forces rotation steps now, for incident response (`sigil server ca rotate`). */
  async rotate(req: RotateRequest): Promise<void> {
    const kinds = req.kinds ?? ['x509', 'jwt'];
    if (!req.prepare && !req.activate) throw new CaError(CaErrorCode.invalid, 'rotate: ask to prepare, to activate, or both');
    if (req.prepare) await this.#rotator.prepare(kinds);
    if (req.activate) await this.#rotator.activate(kinds);
  }

  /** Every authority in this server's journal (active, prepared, old) and when the next steps are due. */
  authorities(): CaAuthorities {
    return describeAuthorities(this.#state, this.#config.keyManager.type, {
      x509: this.#rotator.schedule('x509'), jwt: this.#rotator.schedule('jwt'), pruneMarginMs: this.#rotator.pruneMarginMs,
    });
  }

  get trustDomain(): TrustDomain {
    return this.#config.trustDomain;
  }

  /** `spiffe://<td>/sigil/server`. */
  get serverId(): SpiffeId {
    return this.#config.serverId;
  }

  /** The trust domain's bundle as stored: this server's authorities and every other server's. */
  bundle(): Promise<SpiffeBundle> {
    return this.#publisher.fetch();
  }

  /** The X.509 authorities SVIDs of this trust domain verify against (from the bundle). */
  async x509Authorities(): Promise<readonly X509Certificate[]> {
    return (await this.bundle()).x509Authorities();
  }

  issueX509Svid(req: X509SvidRequest): Promise<IssuedX509Svid> {
    return issueX509Svid(this.#x509, req, this.#x509Context(this.#config.x509SvidTtlSeconds));
  }

  /** Signs every request concurrently; each result is an SVID or that request's error. */
  issueX509Svids(reqs: readonly X509SvidRequest[]): Promise<X509SvidResult[]> {
    return issueX509Svids(this.#x509, reqs, this.#x509Context(this.#config.x509SvidTtlSeconds));
  }

  async issueAgentSvid(req: AgentSvidRequest): Promise<IssuedX509Svid> {
    const prefix = `${this.#config.trustDomain.idString()}/sigil/agent/`;
    if (!req.agentId.toString().startsWith(prefix)) {
      throw new CaError(CaErrorCode.invalid, `agent ID "${req.agentId.toString()}" must start with ${prefix}`);
    }
    const svidReq = { spiffeId: req.agentId, publicKey: req.publicKey, ttlSeconds: req.ttlSeconds };
    return issueX509Svid(this.#x509, svidReq, this.#x509Context(this.#config.agentSvidTtlSeconds));
  }

  /** The server's own SVID (`spiffe://<td>/sigil/server`) for the agent API's TLS. */
  issueServerSvid(req: ServerSvidRequest): Promise<IssuedX509Svid> {
    const svidReq = {
      spiffeId: this.serverId, publicKey: req.publicKey, ttlSeconds: req.ttlSeconds, dnsNames: req.dnsNames,
      ipAddresses: req.ipAddresses,
    };
    return issueX509Svid(this.#x509, svidReq, this.#x509Context(this.#config.x509SvidTtlSeconds));
  }

  issueJwtSvid(req: JwtSvidRequest): Promise<IssuedJwtSvid> {
    const c = this.#config;
    return issueJwtSvid(this.#jwt, req, { trustDomain: c.trustDomain, now: c.now(), defaultTtlSeconds: c.jwtSvidTtlSeconds });
  }

  /** Ready when both authorities can sign now; otherwise the reason. */
  status(): CaStatus {
    const now = this.#config.now();
    const x509 = this.#x509;
    const jwt = this.#jwt;
    if (x509.notAfter <= now) {
      return { ready: false, reason: `X.509 CA ${x509.authorityId} expired at ${x509.notAfter.toISOString()}` };
    }
    if (jwt.notAfter <= now) return { ready: false, reason: `JWT key ${jwt.kid} expired at ${jwt.notAfter.toISOString()}` };
    return {
      ready: true,
      x509: { id: x509.authorityId, keyLocation: x509.key.location, notAfter: x509.notAfter, upstream: x509.intermediates.length > 0 },
      jwt: { id: jwt.kid, keyLocation: jwt.key.location, notAfter: jwt.notAfter },
    };
  }

  #x509Context(defaultTtlSeconds: number): X509IssueContext {
    return { trustDomain: this.#config.trustDomain, now: this.#config.now(), defaultTtlSeconds };
  }
}
