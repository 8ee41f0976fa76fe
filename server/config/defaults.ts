/**
 * Defaults, SPIRE's where SPIRE has one (§3 of the behaviour reference: CA 24h, X.509-SVID 1h,
 * JWT-SVID 5m, P-256). The data directory is relative, like SPIRE's `.data`, so that a developer
 * can run the server without root; deployments set it (deploy/ uses /var/lib/sigil/server).
 */
import {
  DEFAULT_CA_TTL_SECONDS, DEFAULT_JWT_SVID_TTL_SECONDS, DEFAULT_KEY_TYPE, DEFAULT_X509_SVID_TTL_SECONDS,
} from '../ca/index.js';
import type { LogLevel } from '../logger.js';
import type { HostPort } from './values.js';

export const DEFAULT_BIND: Readonly<HostPort> = Object.freeze({ host: '0.0.0.0', port: 8081 });
export const DEFAULT_ADMIN_SOCKET = '/tmp/sigil-server/private/admin.sock';
export const DEFAULT_DATA_DIR = '.sigil/server';
export const DEFAULT_LOG_LEVEL: LogLevel = 'info';
/** Under dataDir. */
export const DATASTORE_FILE = 'datastore.sqlite3';
/** Under dataDir, for the disk key manager. */
export const KEYS_FILE = 'keys.json';

export { DEFAULT_CA_TTL_SECONDS, DEFAULT_JWT_SVID_TTL_SECONDS, DEFAULT_KEY_TYPE, DEFAULT_X509_SVID_TTL_SECONDS };
