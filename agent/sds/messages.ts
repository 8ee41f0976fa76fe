/**
 * Envoy SDS v3 messages as proto-loader decodes and encodes them (proto field names, snake_case).
 * Only the fields in proto/envoy/ exist; google.protobuf.Struct keeps protobufjs's camelCase.
 */
import type { ValueMsg } from '../workloadapi/messages.js';

export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
export const SPIFFE_VALIDATOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig';
/** The TypedExtensionConfig name SPIRE gives the validator (a label: Envoy selects by type URL). */
export const SPIFFE_VALIDATOR_NAME = 'envoy.tls.cert_validator.spiffe';
export const SDS_SERVICE = 'envoy.service.secret.v3.SecretDiscoveryService';

export interface SemanticVersionMsg {
  major_number: number;
  minor_number: number;
  patch: number;
}

export interface NodeMsg {
  id: string;
  cluster: string;
  metadata: { fields: Record<string, ValueMsg> } | null;
  user_agent_name: string;
  user_agent_version?: string;
  user_agent_build_version?: { version: SemanticVersionMsg | null } | null;
}

export interface StatusMsg {
  code: number;
  message: string;
}

export interface DiscoveryRequestMsg {
  version_info: string;
  node: NodeMsg | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: StatusMsg | null;
}

export interface DataSourceMsg {
  inline_bytes: Buffer;
}

export interface SpiffeValidatorConfigMsg {
  '@type': typeof SPIFFE_VALIDATOR_TYPE_URL;
  trust_domains: { name: string; trust_bundle: DataSourceMsg }[];
}

export type ValidationContextMsg =
  | { trusted_ca: DataSourceMsg }
  | { custom_validator_config: { name: string; typed_config: SpiffeValidatorConfigMsg } };

/** A Secret as packed into an Any: `@type` first, then exactly one of the two kinds sigil serves. */
export type SecretMsg = { '@type': typeof SECRET_TYPE_URL; name: string } & (
  | { tls_certificate: { certificate_chain: DataSourceMsg; private_key: DataSourceMsg } }
  | { validation_context: ValidationContextMsg }
);

export interface DiscoveryResponseMsg {
  version_info: string;
  resources: SecretMsg[];
  type_url: string;
  nonce: string;
  control_plane: { identifier: string };
}

export interface DeltaDiscoveryRequestMsg {
  node: NodeMsg | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: StatusMsg | null;
}

export interface ResourceMsg {
  name: string;
  version: string;
  resource: SecretMsg;
}

export interface DeltaDiscoveryResponseMsg {
  system_version_info: string;
  resources: ResourceMsg[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane: { identifier: string };
}
