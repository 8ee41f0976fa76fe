/**
 * Envoy's Secret Discovery Service v3 on the agent socket, next to the Workload API: the agent
 * passes `sdsService(...)` to the Workload API server, which attests SDS callers as its own.
 */
export { sdsService, sdsDefinition, SDS_PROTO_FILES } from './service.js';
export { DEFAULT_SDS_SETTINGS, settingsProblems, type SdsSettings } from './settings.js';
export type { SdsOptions } from './stream.js';
export { SDS_SERVICE, SECRET_TYPE_URL, SPIFFE_VALIDATOR_NAME, SPIFFE_VALIDATOR_TYPE_URL } from './messages.js';
