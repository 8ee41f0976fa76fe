/**
 * JWT-SVIDs are minted by the server on demand (they cannot be pre-minted: the audience is the
 * caller's) and cached per SPIFFE ID + audience set (sorted, deduplicated), as SPIRE's agent does:
 * a token is reused until half its lifetime has passed, then fetched again. Concurrent requests
 * for one key share one call. When the server cannot be reached, a token that has not expired is
 * still handed out (with a warning), so a server outage does not break JWT callers at once.
 * The cache is bounded (least recently used out first): tokens are cheap to mint again.
 */
import { messageOf, Status, type StatusCode } from '../../spiffe/errors.js';
import { grpcCode, isTransient } from '../client/errors.js';
import type { Logger } from '../logger.js';
import { CacheError, CacheErrorCode } from './errors.js';
import type { Identity } from './workload-view.js';

export interface JwtSvid {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
}

export type MintJwt = (entryId: string, audience: string[]) => Promise<JwtSvid>;

interface Cached extends JwtSvid {
  fetchedAtMs: number;
}

export interface JwtSvidCacheOptions {
  mint: MintJwt;
  logger: Logger;
  /** Default 1,000 (SPIRE's jwt_svid_cache_max_size). */
  maxEntries?: number;
  now?: () => number;
}

export class JwtSvidCache {
  readonly #o: JwtSvidCacheOptions;
  readonly #tokens = new Map<string, Cached>();
  readonly #inFlight = new Map<string, Promise<JwtSvid>>();
  readonly #max: number;

  constructor(o: JwtSvidCacheOptions) {
    this.#o = o;
    this.#max = o.maxEntries ?? 1000;
  }

  get size(): number {
    return this.#tokens.size;
  }

  async fetch(identity: Identity, audience: readonly string[]): Promise<JwtSvid> {
    const aud = [...new Set(audience)].sort();
    const key = `${identity.spiffeId}\0${aud.join('\0')}`;
    const now = this.#now();
    const cached = this.#tokens.get(key);
    if (cached !== undefined && now < cached.fetchedAtMs + (cached.expiresAt * 1000 - cached.fetchedAtMs) / 2) {
      // Most recently used moves to the end, so eviction takes from the front.
      this.#tokens.delete(key);
      this.#tokens.set(key, cached);
      return { token: cached.token, expiresAt: cached.expiresAt };
    }
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#mint(key, identity, aud, cached).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /** Drops the tokens of identities the agent no longer holds. */
  retain(spiffeIds: ReadonlySet<string>): void {
    for (const key of this.#tokens.keys()) {
      if (!spiffeIds.has(key.slice(0, key.indexOf('\0')))) this.#tokens.delete(key);
    }
  }

  async #mint(key: string, identity: Identity, audience: string[], stale: Cached | undefined): Promise<JwtSvid> {
    const startedAt = this.#now();
    let svid: JwtSvid;
    try {
      svid = await this.#o.mint(identity.entryId, audience);
    } catch (err) {
      if (stale !== undefined && stale.expiresAt * 1000 > this.#now() && isTransient(err)) {
        this.#o.logger.warn(
          { spiffeId: identity.spiffeId, audience, expiresAt: stale.expiresAt, err: messageOf(err) },
          'agent: the server could not mint a JWT-SVID; handing out the cached one until it expires',
        );
        return { token: stale.token, expiresAt: stale.expiresAt };
      }
      throw mintError(identity.spiffeId, err);
    }
    this.#tokens.delete(key);
    this.#tokens.set(key, { ...svid, fetchedAtMs: startedAt });
    while (this.#tokens.size > this.#max) this.#tokens.delete(this.#tokens.keys().next().value!);
    return svid;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }
}

function mintError(spiffeId: string, err: unknown): CacheError {
  if (isTransient(err) || grpcCode(err) === undefined) {
    return new CacheError(CacheErrorCode.unavailable, `cannot mint a JWT-SVID for ${spiffeId}: the server is unreachable (${messageOf(err)})`, {
      cause: err,
    });
  }
  const code = grpcCode(err) as StatusCode;
  return new CacheError(CacheErrorCode.refused, `the server refused a JWT-SVID for ${spiffeId}: ${messageOf(err)}`, {
    status: code === Status.NOT_FOUND ? Status.PERMISSION_DENIED : code,
    cause: err,
  });
}
