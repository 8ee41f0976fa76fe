export { parseEndpointAddress, endpointAddressFromEnv, type EndpointAddress } from './address.js';
export { AddressRule, EndpointAddressError } from './errors.js';
export {
  WORKLOAD_API_HEADER,
  WORKLOAD_API_HEADER_VALUE,
  WORKLOAD_API_SERVICE,
  SPIFFE_ENDPOINT_SOCKET_ENV,
  DEFAULT_AGENT_SOCKET_PATH,
  DEFAULT_AGENT_SOCKET_ADDRESS,
} from './constants.js';
