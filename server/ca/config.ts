/**
 * ServerCa's options, their defaults (SPIRE's: 24 h CA, 1 h X.509-SVID, 5 min JWT-SVID, P-256) and
 * the checks made before anything is generated.
 */
import type { SpiffeId, TrustDomain } from '../../spiffe/spiffeid/index.js';
import type { SubjectName } from '../../spiffe/x509svid/profile.js';
import type { CaJournalStore, BundleStore } from '../datastore/datastore.js';
import { isKeyType, KEY_TYPES, type KeyManager, type KeyType } from '../keymanager/key-manager.js';
import { CaError, CaErrorCode } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { maxSvidTtlSeconds } from './requests.js';
import { DiskUpstreamAuthority, type DiskUpstreamConfig } from './upstream/disk.js';
import type { UpstreamAuthority } from './upstream/upstream-authority.js';

export const DEFAULT_CA_TTL_SECONDS = 24 * 3600;
export const DEFAULT_X509_SVID_TTL_SECONDS = 3600;
export const DEFAULT_JWT_SVID_TTL_SECONDS = 5 * 60;
export const DEFAULT_KEY_TYPE: KeyType = 'ec-p256';

export interface ServerCaOptions {
  trustDomain: TrustDomain;
  keyManager: KeyManager;
  /** The X.509 CA key; default ec-p256. */
  keyType?: KeyType;
  /** The JWT signing key; defaults to keyType (SPIRE's jwt_key_type). */
  jwtKeyType?: KeyType;
  /** Lifetime of the X.509 CA and of the JWT key; default 24 h. */
  caTtlSeconds?: number;
  /** Default X.509-SVID TTL; 1 h. */
  x509SvidTtlSeconds?: number;
  /** Default TTL of agent SVIDs; defaults to x509SvidTtlSeconds (SPIRE's agent_ttl). */
  agentSvidTtlSeconds?: number;
  /** Default JWT-SVID TTL; 5 min. */
  jwtSvidTtlSeconds?: number;
  /** Chain to an existing PKI: files on disk, or any UpstreamAuthority. Absent: a self-signed root. */
  upstream?: DiskUpstreamConfig | UpstreamAuthority;
  /** The CA certificate's subject; default C=US, O=SIGIL (+ serialNumber). */
  caSubject?: SubjectName;
  /** spiffe_refresh_hint written into the bundle; absent leaves the stored one alone. */
  bundleRefreshHintSeconds?: number;
  bundles: BundleStore;
  journals: CaJournalStore;
  /** This server's journal key: several servers share a database, each with its own CA. */
  serverInstanceId: string;
  logger?: Logger;
  now?: () => Date;
}

export interface CaConfig {
  trustDomain: TrustDomain;
  serverId: SpiffeId;
  keyManager: KeyManager;
  keyType: KeyType;
  jwtKeyType: KeyType;
  caTtlSeconds: number;
  x509SvidTtlSeconds: number;
  agentSvidTtlSeconds: number;
  jwtSvidTtlSeconds: number;
  upstream: UpstreamAuthority | undefined;
  caSubject: SubjectName | undefined;
  bundleRefreshHintSeconds: number | undefined;
  bundles: BundleStore;
  journals: CaJournalStore;
  serverInstanceId: string;
  logger: Logger;
  now: () => Date;
}

function seconds(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new CaError(CaErrorCode.config, `${name} must be a whole number of seconds above 0, got ${value}`);
  }
  return value;
}

function keyType(name: string, value: KeyType | undefined, fallback: KeyType): KeyType {
  if (value === undefined) return fallback;
  if (!isKeyType(value)) {
    throw new CaError(CaErrorCode.config, `${name} ${JSON.stringify(value)} is not supported: use one of ${KEY_TYPES.join(', ')}`);
  }
  return value;
}

function upstreamOf(u: ServerCaOptions['upstream']): UpstreamAuthority | undefined {
  if (u === undefined || 'mintX509Ca' in u) return u;
  for (const field of ['certFile', 'keyFile', 'bundleFile'] as const) {
    if (typeof u[field] !== 'string' || u[field] === '') {
      throw new CaError(CaErrorCode.config, `upstream.${field} is required: set it to the upstream CA's PEM file`);
    }
  }
  return new DiskUpstreamAuthority(u);
}

/** Fills defaults and checks values; warns, as SPIRE does, about SVID TTLs the CA TTL cannot honour. */
export function resolveConfig(o: ServerCaOptions, serverId: SpiffeId): CaConfig {
  if (typeof o.serverInstanceId !== 'string' || o.serverInstanceId === '') {
    throw new CaError(CaErrorCode.config, 'serverInstanceId is required: it keys this server\'s CA journal');
  }
  const caTtlSeconds = seconds('caTtlSeconds', o.caTtlSeconds, DEFAULT_CA_TTL_SECONDS);
  const x509SvidTtlSeconds = seconds('x509SvidTtlSeconds', o.x509SvidTtlSeconds, DEFAULT_X509_SVID_TTL_SECONDS);
  const c: CaConfig = {
    trustDomain: o.trustDomain,
    serverId,
    keyManager: o.keyManager,
    keyType: keyType('keyType', o.keyType, DEFAULT_KEY_TYPE),
    jwtKeyType: keyType('jwtKeyType', o.jwtKeyType, o.keyType ?? DEFAULT_KEY_TYPE),
    caTtlSeconds,
    x509SvidTtlSeconds,
    agentSvidTtlSeconds: seconds('agentSvidTtlSeconds', o.agentSvidTtlSeconds, x509SvidTtlSeconds),
    jwtSvidTtlSeconds: seconds('jwtSvidTtlSeconds', o.jwtSvidTtlSeconds, DEFAULT_JWT_SVID_TTL_SECONDS),
    upstream: upstreamOf(o.upstream),
    caSubject: o.caSubject,
    bundleRefreshHintSeconds: o.bundleRefreshHintSeconds,
    bundles: o.bundles,
    journals: o.journals,
    serverInstanceId: o.serverInstanceId,
    logger: o.logger ?? silentLogger,
    now: o.now ?? (() => new Date()),
  };
  const max = maxSvidTtlSeconds(caTtlSeconds);
  const ttls = [
    ['x509SvidTtlSeconds', c.x509SvidTtlSeconds],
    ['agentSvidTtlSeconds', c.agentSvidTtlSeconds],
    ['jwtSvidTtlSeconds', c.jwtSvidTtlSeconds],
  ] as const;
  for (const [name, ttl] of ttls) {
    if (ttl > max) {
      c.logger.warn(
        `${name} (${ttl} s) is above the ${max} s the CA TTL (${caTtlSeconds} s) allows: SVIDs issued late in a CA's ` +
          'life will be cut short at its expiry; lower the SVID TTL or raise caTtlSeconds to 6 times it',
        { setting: name, ttlSeconds: ttl, maxSeconds: max, caTtlSeconds },
      );
    }
  }
  return c;
}
