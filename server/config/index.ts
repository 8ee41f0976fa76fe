export { formatDuration, parseDuration } from './duration.js';
export { ConfigError, ConfigErrorCode } from './errors.js';
export { CONFIG_FLAGS, FILE_ONLY_HINT, TPM_EK_CA_FLAG, type ConfigFlags, type FlagSpec } from './flags.js';
export { loadConfig, parseYamlConfig, readConfigFile, resolveConfig, type ConfigSources } from './load.js';
export type { HostPort, NodeAttestorsConfig, ServerConfig, TpmAttestorConfig } from './types.js';
export { formatHostPort } from './values.js';
