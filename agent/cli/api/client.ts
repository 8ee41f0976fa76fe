/**
 * The CLI's Workload API client: built from workload.proto with grpc-js's generic Client, sending
 * the security header on every call as go-spiffe does. It finds the agent the way workloads do:
 * --socket-path, else SPIFFE_ENDPOINT_SOCKET, else the default socket.
 */
import { resolve as resolvePath } from 'node:path';
import {
  Client, credentials, Metadata, status, type ClientReadableStream, type ServiceDefinition, type ServiceError,
} from '@grpc/grpc-js';
import { Option } from 'commander';
import { loadProto } from '../../../proto/load.js';
import { messageOf } from '../../../spiffe/errors.js';
import {
  DEFAULT_AGENT_SOCKET_PATH, SPIFFE_ENDPOINT_SOCKET_ENV, WORKLOAD_API_HEADER, WORKLOAD_API_HEADER_VALUE,
  WORKLOAD_API_SERVICE, endpointAddressFromEnv,
} from '../../../spiffe/workloadapi/index.js';
import type {
  HealthCheckRequestMsg, HealthCheckResponseMsg,
} from '../../workloadapi/health.js';
import { HEALTH_DETAIL_TRAILER, healthServiceDefinition } from '../../workloadapi/index.js';
import type {
  JwtBundlesResponseMsg, JwtSvidResponseMsg, ValidateJwtSvidResponseMsg, X509SvidResponseMsg,
} from '../../workloadapi/messages.js';
import { CliError } from './output.js';

const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const START_HINT = `Is \`sigil agent run\` running? Pass --socket-path (or set ${SPIFFE_ENDPOINT_SOCKET_ENV}) to point at its socket.`;

export interface EndpointOptions {
  socketPath?: string;
  timeout: string;
}

export const socketPathOption = (): Option =>
  new Option(
    '--socket-path <path>',
    `path of the agent's Workload API socket (default: $${SPIFFE_ENDPOINT_SOCKET_ENV}, else ${DEFAULT_AGENT_SOCKET_PATH})`,
  );

export const timeoutOption = (defaultSeconds: string): Option =>
  new Option('--timeout <seconds>', 'how long to wait for the agent').default(defaultSeconds);

/** The gRPC target and a name for messages. */
export function resolveEndpoint(opts: { socketPath?: string }, env: NodeJS.ProcessEnv = process.env): { target: string; name: string } {
  if (opts.socketPath !== undefined && opts.socketPath !== '') {
    const path = resolvePath(opts.socketPath);
    return { target: `unix://${path}`, name: path };
  }
  if ((env[SPIFFE_ENDPOINT_SOCKET_ENV] ?? '') === '') return { target: `unix://${DEFAULT_AGENT_SOCKET_PATH}`, name: DEFAULT_AGENT_SOCKET_PATH };
  let addr;
  try {
    addr = endpointAddressFromEnv(env);
  } catch (err) {
    throw new CliError(`${SPIFFE_ENDPOINT_SOCKET_ENV}: ${messageOf(err)}`, 'Set it to unix:///path/to/socket, or pass --socket-path.');
  }
  return { target: addr.target, name: addr.kind === 'unix' ? addr.path : addr.target };
}

export function timeoutMs(opts: { timeout: string }): number {
  const s = Number(opts.timeout);
  if (!Number.isFinite(s) || s <= 0) throw new CliError(`--timeout must be a positive number of seconds, got ${JSON.stringify(opts.timeout)}`);
  return s * 1000;
}

type Method = ServiceDefinition[string];

export class WorkloadClient {
  readonly endpoint: string;
  readonly #client: Client;
  readonly #methods: ServiceDefinition;

  constructor(opts: { socketPath?: string }) {
    const { target, name } = resolveEndpoint(opts);
    this.endpoint = name;
    this.#client = new Client(target, credentials.createInsecure(), { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
    this.#methods = loadProto('workload.proto')[WORKLOAD_API_SERVICE] as ServiceDefinition;
  }

  close(): void {
    this.#client.close();
  }

  /** The first X509SVIDResponse of a FetchX509SVID stream. */
  fetchX509Svid(timeout: number): Promise<X509SvidResponseMsg> {
    return this.#first<X509SvidResponseMsg>('FetchX509SVID', timeout);
  }

  fetchJwtBundles(timeout: number): Promise<JwtBundlesResponseMsg> {
    return this.#first<JwtBundlesResponseMsg>('FetchJWTBundles', timeout);
  }

  /** A FetchX509SVID stream with no deadline: the agent keeps it open and pushes every change. */
  watchX509Svid(): ClientReadableStream<X509SvidResponseMsg> {
    const m = this.#method('FetchX509SVID');
    return this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, header(), {}) as ClientReadableStream<X509SvidResponseMsg>;
  }

  fetchJwtSvid(audience: string[], spiffeId: string, timeout: number): Promise<JwtSvidResponseMsg> {
    return this.#unary<JwtSvidResponseMsg>('FetchJWTSVID', { audience, spiffe_id: spiffeId }, timeout);
  }

  validateJwtSvid(audience: string, svid: string, timeout: number): Promise<ValidateJwtSvidResponseMsg> {
    return this.#unary<ValidateJwtSvidResponseMsg>('ValidateJWTSVID', { audience, svid }, timeout);
  }

  /** grpc.health.v1 Check; the agent's reason for a failing check comes back in a trailer. */
  healthCheck(service: string, timeout: number): Promise<{ status: HealthCheckResponseMsg['status']; detail: string }> {
    const m = healthServiceDefinition()['Check'] as Method;
    return new Promise((resolve, reject) => {
      let outcome: { err: ServiceError | null; res: HealthCheckResponseMsg | undefined } | undefined;
      const call = this.#client.makeUnaryRequest<HealthCheckRequestMsg, HealthCheckResponseMsg>(
        m.path, m.requestSerialize, m.responseDeserialize, { service }, new Metadata(), { deadline: Date.now() + timeout },
        (err, res) => {
          outcome = { err, res };
        },
      );
      // grpc-js calls back before it emits the status, and only the status carries the trailer.
      call.on('status', (s) => {
        const detail = String(s.metadata.get(HEALTH_DETAIL_TRAILER)[0] ?? '');
        if (outcome?.err || outcome?.res === undefined) reject(this.explain(outcome?.err ?? unknownError(), timeout));
        else resolve({ status: outcome.res.status, detail });
      });
    });
  }

  /** A gRPC failure as something to tell the user. */
  explain(err: ServiceError, timeout: number): CliError {
    switch (err.code) {
      case status.UNAVAILABLE:
        if (/EACCES|EPERM/.test(err.details)) return new CliError(`permission denied on the agent socket ${this.endpoint}`);
        if (/ENOENT|ECONNREFUSED|No connection established|connect/.test(err.details)) {
          return new CliError(`cannot reach the agent on ${this.endpoint}: ${err.details}`, START_HINT);
        }
        return new CliError(`the agent is unavailable: ${err.details}`, 'Try again in a moment; the agent log says more.');
      case status.DEADLINE_EXCEEDED:
        return new CliError(`the agent did not answer within ${timeout / 1000} s`, START_HINT);
      case status.PERMISSION_DENIED:
        return new CliError(
          `${err.details} (PermissionDenied)`,
          "No registration entry matches this process's selectors; check the entries with `sigil server entry show`.",
        );
      default:
        return new CliError(`${err.details} (${status[err.code] ?? err.code})`);
    }
  }

  #method(name: string): Method {
    const m = this.#methods[name];
    if (m === undefined) throw new Error(`workload.proto has no ${name}`);
    return m;
  }

  #unary<Res>(name: string, request: object, timeout: number): Promise<Res> {
    const m = this.#method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, header(), { deadline: Date.now() + timeout }, (err, res) =>
        err || res === undefined ? reject(this.explain(err ?? unknownError(), timeout)) : resolve(res as Res),
      );
    });
  }

  #first<Res>(name: string, timeout: number): Promise<Res> {
    const m = this.#method(name);
    return new Promise((resolve, reject) => {
      const call = this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, header(), {
        deadline: Date.now() + timeout,
      });
      let done = false;
      call.once('data', (msg: Res) => {
        done = true;
        resolve(msg);
        call.cancel();
      });
      call.on('error', (err: ServiceError) => {
        if (!done) reject(this.explain(err, timeout));
      });
      call.on('end', () => {
        if (!done) reject(new CliError('the agent ended the stream without sending anything'));
      });
    });
  }
}

function header(): Metadata {
  const md = new Metadata();
  md.set(WORKLOAD_API_HEADER, WORKLOAD_API_HEADER_VALUE);
  return md;
}

function unknownError(): ServiceError {
  return Object.assign(new Error('no response'), { code: status.UNKNOWN, details: 'no response', metadata: new Metadata() });
}
