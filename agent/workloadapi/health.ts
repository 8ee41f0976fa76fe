/**
 * grpc.health.v1.Health on the Workload API socket, for `sigil agent healthcheck` and any standard
 * probe (grpc_health_probe). It needs no security header and no attestation: it reveals only whether
 * the agent is ready. Services: "" and "SpiffeWorkloadAPI" answer readiness (attested, first sync
 * done); "liveness" answers whether the agent is alive at all. The reason for a failing check goes
 * back in the `sigil-health-detail` trailer, for `healthcheck --verbose`.
 *
 * The proto is given as a descriptor here because it is four lines, and proto/ holds only the
 * services sigil defines or serves by the SPIFFE specs.
 */
import { Metadata, status, type handleUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import { fromJSON } from '@grpc/proto-loader';
import { messageOf } from '../../spiffe/errors.js';
import { WORKLOAD_API_SERVICE } from '../../spiffe/workloadapi/index.js';
import type { WorkloadView } from '../cache/workload-view.js';
import type { WorkloadApiLogger } from './logger.js';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';
export const LIVENESS_SERVICE = 'liveness';
export const HEALTH_DETAIL_TRAILER = 'sigil-health-detail';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthCheckRequestMsg {
  service: string;
}
export interface HealthCheckResponseMsg {
  status: ServingStatus;
}

let definition: ServiceDefinition | undefined;

export function healthServiceDefinition(): ServiceDefinition {
  if (definition !== undefined) return definition;
  const pkg = fromJSON(
    {
      nested: {
        grpc: { nested: { health: { nested: { v1: { nested: {
          HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
          HealthCheckResponse: {
            fields: { status: { type: 'ServingStatus', id: 1 } },
            nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
          },
          Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', comment: '' } } },
        } } } } } },
      },
    },
    { keepCase: true, enums: String, defaults: true },
  );
  definition = pkg[HEALTH_SERVICE] as ServiceDefinition;
  return definition;
}

/** Metadata values must be printable ASCII; the detail is for a human, so squash the rest. */
const asciiOnly = (s: string): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, 1024);

export function healthCheck(view: WorkloadView, logger: WorkloadApiLogger): handleUnaryCall<HealthCheckRequestMsg, HealthCheckResponseMsg> {
  return (call, callback) => {
    const service = call.request.service;
    if (service !== '' && service !== WORKLOAD_API_SERVICE && service !== LIVENESS_SERVICE) {
      callback({ code: status.NOT_FOUND, details: `unknown service ${JSON.stringify(service)}` });
      return;
    }
    let h;
    try {
      h = view.health();
    } catch (err) {
      logger.error({ err: messageOf(err) }, 'workload api: the health check failed');
      callback({ code: status.INTERNAL, details: `the health check failed: ${messageOf(err)}` });
      return;
    }
    const ok = service === LIVENESS_SERVICE ? h.live : h.ready;
    const trailer = new Metadata();
    if (h.detail !== '') trailer.set(HEALTH_DETAIL_TRAILER, asciiOnly(h.detail));
    callback(null, { status: ok ? 'SERVING' : 'NOT_SERVING' }, trailer);
  };
}
