export { formatDuration, parseDuration } from './duration.js';
export { ConfigError, ConfigErrorCode } from './errors.js';
export { CONFIG_FLAGS, FILE_ONLY_HINT, type ConfigFlags, type FlagSpec } from './flags.js';
export { loadConfig, parseYamlConfig, readConfigFile, resolveConfig, type ConfigSources } from './load.js';
export type { HostPort, ServerConfig } from './types.js';
export { formatHostPort } from './values.js';
