/**
 * The `sigil server run` flags that set config keys: kebab-case spellings of top-level keys.
 * run.ts builds its options from this table, so a key, its flag and its help stay together.
 */
import { KEY_TYPES } from '../keymanager/key-manager.js';
import { LOG_LEVELS } from '../logger.js';
import { DEFAULT_ADMIN_SOCKET, DEFAULT_DATA_DIR, DEFAULT_LOG_LEVEL, DATASTORE_FILE } from './defaults.js';
import type { KeyPath } from './issues.js';

/** What the flags give: only those on the command line are set (undefined means "not given"). */
export interface ConfigFlags {
  trustDomain?: string;
  bind?: string;
  adminSocket?: string;
  dataDir?: string;
  datastore?: string;
  logLevel?: string;
  /** --tpm-ek-ca, repeatable: replaces nodeAttestors.tpm.ekCaBundles. */
  tpmEkCa?: string[];
}

export type FlagKey = Exclude<keyof ConfigFlags, 'tpmEkCa'>;

/** The repeatable flags, which set a list inside a section rather than a top-level scalar. */
export const TPM_EK_CA_FLAG = {
  flag: '--tpm-ek-ca',
  arg: 'FILE',
  help: 'PEM bundle of TPM manufacturer CAs trusted for EK certificates; repeat for several (turns on the tpm node attestor)',
} as const;

export interface FlagSpec {
  key: FlagKey;
  flag: string;
  arg: string;
  help: string;
}

export const CONFIG_FLAGS: readonly FlagSpec[] = [
  { key: 'trustDomain', flag: '--trust-domain', arg: 'TD', help: 'the trust domain, e.g. example.org (required here or in the file)' },
  { key: 'bind', flag: '--bind', arg: 'HOST:PORT', help: 'agent API listener; port 0 picks a free one (default: 0.0.0.0:8081)' },
  { key: 'adminSocket', flag: '--admin-socket', arg: 'PATH', help: `admin API Unix socket (default: ${DEFAULT_ADMIN_SOCKET})` },
  { key: 'dataDir', flag: '--data-dir', arg: 'DIR', help: `where the server keeps its state (default: ${DEFAULT_DATA_DIR})` },
  {
    key: 'datastore', flag: '--datastore', arg: 'URL',
    help: `sqlite:PATH or postgres://USER@HOST:PORT/DB[?schema=NAME] (default: sqlite:DATA_DIR/${DATASTORE_FILE})`,
  },
  { key: 'logLevel', flag: '--log-level', arg: 'LEVEL', help: `${LOG_LEVELS.join(', ')} (default: ${DEFAULT_LOG_LEVEL})` },
];

/** Mentioned in help so operators know the file holds more than the flags. */
export const FILE_ONLY_HINT =
  `Only the config file sets ca.keyType (${KEY_TYPES.join(', ')}), ca.ttl, ca.subject,\n` +
  'ca.keyManager, ca.upstream, svid.x509Ttl, svid.jwtTtl, svid.agentTtl, jwt.keyType, serverDnsNames,\n' +
  'nodeAttestors.tpm.ekHashAllowList and nodeAttestors.tpm.pcrPolicy.';

/** Names a flag-layer key path by its flag: `--bind`. */
export function flagLabel(path: KeyPath): string {
  const top = path[0];
  return CONFIG_FLAGS.find((f) => f.key === top)?.flag ?? String(top);
}
