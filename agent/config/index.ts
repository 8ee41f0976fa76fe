export { AgentConfigError, AgentConfigErrorCode } from './errors.js';
export { CONFIG_FLAGS, FILE_ONLY_HINT, type ConfigFlags, type FlagSpec } from './flags.js';
export { loadConfig, parseYamlConfig, readConfigFile, resolveConfig, type ConfigSources } from './load.js';
export type { AgentConfig, Bootstrap, SdsConfig, TpmNodeAttestorConfig, UnixAttestorConfig, WorkloadAttestorsConfig } from './types.js';
export { formatHostPort, WORKLOAD_KEY_TYPES, type HostPort, type WorkloadKeyType } from './values.js';
export * from './defaults.js';
