/** Names and values the Workload API fixes on the wire (SPIFFE_Workload_Endpoint.md, workload.proto). */

/**
 * The security header every Workload API request must carry; a request without it is rejected
 * with InvalidArgument. It proves the call was made on purpose by a gRPC client, not by a browser
 * or proxy tricked into sending bytes to the socket (SSRF).
 */
export const WORKLOAD_API_HEADER = 'workload.spiffe.io';
/** The header's only accepted value; the comparison is case-sensitive. */
export const WORKLOAD_API_HEADER_VALUE = 'true';

/**
 * The gRPC service name. workload.proto has no package statement, so the name sits at the root and
 * method paths are `/SpiffeWorkloadAPI/<Method>`; any other name makes go-spiffe and SPIRE clients
 * fail with Unimplemented.
 */
export const WORKLOAD_API_SERVICE = 'SpiffeWorkloadAPI';

/** Where a client finds the endpoint address when none is given to it explicitly. */
export const SPIFFE_ENDPOINT_SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';

/**
 * Where sigil's agent listens when not told otherwise. It mirrors SPIRE's
 * /tmp/spire-agent/public/api.sock so the two can run side by side and operators find it by analogy;
 * `public/` is the directory that is opened to workloads while the agent's private files stay out.
 */
export const DEFAULT_AGENT_SOCKET_PATH = '/tmp/sigil-agent/public/api.sock';
/** DEFAULT_AGENT_SOCKET_PATH as a SPIFFE_ENDPOINT_SOCKET value. */
export const DEFAULT_AGENT_SOCKET_ADDRESS = `unix://${DEFAULT_AGENT_SOCKET_PATH}`;
