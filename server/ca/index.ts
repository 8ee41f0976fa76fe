export {
  ServerCa, type AgentSvidRequest, type AuthorityInfo, type CaStatus, type RotateRequest, type ServerCaOptions, type ServerSvidRequest,
} from './ca.js';
export type { AuthorityView, CaAuthorities } from './describe.js';
export type { KindName } from './kinds.js';
export type { Schedule } from './rotation.js';
export {
  DEFAULT_CA_TTL_SECONDS, DEFAULT_JWT_SVID_TTL_SECONDS, DEFAULT_KEY_TYPE, DEFAULT_X509_SVID_TTL_SECONDS,
} from './config.js';
export { CaError, CaErrorCode } from './errors.js';
export type { Logger } from './logger.js';
export type { IssuedJwtSvid, JwtSvidRequest } from './jwt-issuer.js';
export type { IssuedX509Svid, X509SvidRequest, X509SvidResult } from './x509-issuer.js';
export type { DiskUpstreamConfig } from './upstream/disk.js';
export type { MintedX509Ca, MintX509CaRequest, UpstreamAuthority } from './upstream/upstream-authority.js';
