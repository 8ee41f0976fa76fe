/** The Workload API's messages as proto-loader decodes and encodes them (proto field names). */

export interface X509SvidMsg {
  spiffe_id: string;
  x509_svid: Buffer;
  x509_svid_key: Buffer;
  bundle: Buffer;
  hint: string;
}

export interface X509SvidResponseMsg {
  svids: X509SvidMsg[];
  crl: Buffer[];
  federated_bundles: Record<string, Buffer>;
}

export interface X509BundlesResponseMsg {
  crl: Buffer[];
  bundles: Record<string, Buffer>;
}

export interface JwtSvidRequestMsg {
  audience: string[];
  spiffe_id: string;
}

export interface JwtSvidMsg {
  spiffe_id: string;
  svid: string;
  hint: string;
}

export interface JwtSvidResponseMsg {
  svids: JwtSvidMsg[];
}

export interface JwtBundlesResponseMsg {
  bundles: Record<string, Buffer>;
}

export interface ValidateJwtSvidRequestMsg {
  audience: string;
  svid: string;
}

/**
 * google.protobuf.Value: exactly one kind set. Its field names are camelCase whatever the loader's
 * keepCase says, because proto-loader takes the well-known types from protobufjs's bundled JSON
 * descriptors, which are written that way; decoded values also name the set member in `kind`.
 */
export type ValueMsg =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: StructMsg }
  | { listValue: { values: ValueMsg[] } };

export interface StructMsg {
  fields: Record<string, ValueMsg>;
}

export interface ValidateJwtSvidResponseMsg {
  spiffe_id: string;
  claims: StructMsg;
}
