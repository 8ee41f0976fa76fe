/**
 * The CLI's side of the admin socket: the `--admin-socket` option every admin command takes, a
 * unary client over the socket, and gRPC failures turned into messages an operator can act on.
 */
import { statSync } from 'node:fs';
import { Client, Metadata, credentials, status, type ServiceDefinition, type ServiceError } from '@grpc/grpc-js';
import { Command, Option } from 'commander';
import { loadProto } from '../../proto/load.js';
import { messageOf } from '../../spiffe/errors.js';
import { DEFAULT_ADMIN_SOCKET } from '../config/defaults.js';
import { CliError, outputOption, type OutputFormat } from './output.js';

export { DEFAULT_ADMIN_SOCKET };
export const ADMIN_SOCKET_ENV = 'SIGIL_ADMIN_SOCKET';

export type AdminService = 'EntryService' | 'AgentService' | 'TokenService' | 'BundleService' | 'CaService' | 'HealthService';

export interface AdminOptions {
  adminSocket: string;
  output: OutputFormat;
}

const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 120_000;
const PERMISSION_HINT = 'The socket and its directory belong to the user the server runs as: run this command as that user.';
const START_HINT = `Is \`sigil server run\` running? Pass --admin-socket (or set ${ADMIN_SOCKET_ENV}) to point at its admin socket.`;

/** Adds --admin-socket and --output to an admin command. */
export function adminCommand(name: string): Command {
  return new Command(name)
    .addOption(
      new Option('--admin-socket <path>', "path of the server's admin socket").env(ADMIN_SOCKET_ENV).default(DEFAULT_ADMIN_SOCKET),
    )
    .addOption(outputOption());
}

export class AdminClient {
  readonly socketPath: string;
  readonly #client: Client;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
    this.#client = new Client(`unix:${socketPath}`, credentials.createInsecure(), {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    });
  }

  call<Res>(service: AdminService, method: string, request: object, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Res> {
    const def = (loadProto('sigil/admin/v1/admin.proto')[`sigil.admin.v1.${service}`] as ServiceDefinition)[method];
    if (def === undefined) throw new Error(`admin client: ${service} has no method ${method}`);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(this.#explain(err, timeoutMs)) : resolve(res as Res)),
      );
    });
  }

  close(): void {
    this.#client.close();
  }

  #explain(err: ServiceError, timeoutMs: number): CliError {
    switch (err.code) {
      case status.UNAVAILABLE:
        if (/EACCES|EPERM/.test(err.details)) {
          return new CliError(`permission denied on the admin socket ${this.socketPath}`, PERMISSION_HINT);
        }
        return new CliError(`cannot reach the sigil server on ${this.socketPath}: ${err.details}`, START_HINT);
      case status.DEADLINE_EXCEEDED:
        return new CliError(`the server did not answer within ${timeoutMs / 1000} s`, 'It may be overloaded; check its log.');
      case status.NOT_FOUND:
        return new CliError(err.details, 'List what exists with `sigil server entry list` or `sigil server agent list`.');
      case status.ALREADY_EXISTS:
        return new CliError(err.details, 'Show it with `sigil server entry show --id <id>`, or change the new one.');
      case status.INTERNAL:
      case status.UNKNOWN:
        return new CliError(err.details, "This is a server-side failure; the server's log has the details.");
      default:
        return new CliError(err.details);
    }
  }
}

/**
 * Checks the socket before dialling, because gRPC reports a missing or forbidden socket only as
 * "unavailable" after its connection attempt; this names the actual problem.
 */
function checkSocket(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`the admin socket ${path} does not exist`, START_HINT);
    if (code === 'EACCES') {
      throw new CliError(`permission denied on the admin socket ${path}`, PERMISSION_HINT);
    }
    throw new CliError(`cannot use the admin socket ${path}: ${messageOf(err)}`, START_HINT);
  }
  if (!st.isSocket()) throw new CliError(`${path} is not a socket`, START_HINT);
}

/** Runs `fn` with a client on the command's admin socket, closing it afterwards. */
export async function withAdmin<T>(opts: AdminOptions, fn: (client: AdminClient) => Promise<T>): Promise<T> {
  checkSocket(opts.adminSocket);
  const client = new AdminClient(opts.adminSocket);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}
