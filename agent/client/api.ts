/**
 * The agent's calls to the server's agent API (proto/sigil/agent/v1/agent.proto), over one grpc-js
 * channel with fixed credentials. A credential change (renewed SVID, new bundle) means a new
 * AgentApiClient; ServerConnection (connection.ts) swaps them.
 */
import { Client, Metadata, type ChannelCredentials, type ClientReadableStream } from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { loadProto } from '../../proto/load.js';
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import { AgentClientError, AgentClientErrorCode } from './errors.js';
import type {
  AttestRequestMessage, AttestResponseMessage, AttestResultMessage, MintJwtSvidResponseMessage, MintX509SvidsResponseMessage,
  RenewResponseMessage, SyncEntriesResponseMessage, WatchBundleResponseMessage,
} from './messages.js';

const SERVICE = 'sigil.agent.v1.AgentAPI';

/** SPIRE's agent RPC timeout. */
export const CALL_TIMEOUT_MS = 30_000;

/** A 1,000-SVID mint response with long chains can pass gRPC's 4 MB default. */
const MAX_RECEIVE_BYTES = 64 * 1024 * 1024;

type Method = MethodDefinition<object, object>;

let methodTable: Record<string, Method> | undefined;

function method(name: string): Method {
  methodTable ??= loadProto('sigil/agent/v1/agent.proto')[SERVICE] as Record<string, Method>;
  const m = methodTable[name];
  if (m === undefined) throw new Error(`agent client: ${SERVICE} has no method ${name}`);
  return m;
}

export interface X509SvidRequest {
  entry_id: string;
  csr: Buffer;
}

export class AgentApiClient {
  readonly #client: Client;

  constructor(target: string, credentials: ChannelCredentials, servername: string) {
    this.#client = new Client(target, credentials, {
      'grpc.ssl_target_name_override': servername,
      'grpc.default_authority': servername,
      // Channels with different client certificates must not share a connection.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
      // Finds a server that vanished without closing the connection (a partition, a dead host).
      'grpc.keepalive_time_ms': 60_000,
      'grpc.keepalive_timeout_ms': 20_000,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5_000,
    });
  }

  /** Existing calls continue; new ones fail. */
  close(): void {
    this.#client.close();
  }

  /** Node attestation: params, the attestor's answers to any challenges, then the result. */
  attest(attestor: AgentNodeAttestor, csr: Buffer, timeoutMs = CALL_TIMEOUT_MS * 2): Promise<AttestResultMessage> {
    const m = method('Attest');
    return attestor.payload().then(
      (payload) =>
        new Promise<AttestResultMessage>((resolve, reject) => {
          const call = this.#client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, new Metadata(), {
            deadline: Date.now() + timeoutMs,
          });
          let result: AttestResultMessage | undefined;
          let failed = false;
          const fail = (err: unknown): void => {
            if (failed) return;
            failed = true;
            call.cancel();
            reject(err);
          };
          call.on('data', (msg: AttestResponseMessage) => {
            if (msg.result) {
              result = msg.result;
              call.end();
            } else if (msg.challenge) {
              attestor.respond(msg.challenge).then((answer) => {
                const reply: AttestRequestMessage = { challenge_response: Buffer.from(answer) };
                call.write(reply);
              }, fail);
            }
          });
          call.on('error', fail);
          call.on('end', () => {
            if (failed) return;
            if (result !== undefined) resolve(result);
            else reject(new AgentClientError(AgentClientErrorCode.protocol, 'the Attest stream ended without a result'));
          });
          const first: AttestRequestMessage = { params: { attestor_type: attestor.type, payload: Buffer.from(payload), csr } };
          call.write(first);
        }),
    );
  }

  renew(csr: Buffer): Promise<RenewResponseMessage> {
    return this.#unary('Renew', { csr });
  }

  mintX509Svids(requests: X509SvidRequest[], timeoutMs = CALL_TIMEOUT_MS * 2): Promise<MintX509SvidsResponseMessage> {
    return this.#unary('MintX509SVIDs', { requests }, timeoutMs);
  }

  mintJwtSvid(entryId: string, audience: string[]): Promise<MintJwtSvidResponseMessage> {
    return this.#unary('MintJWTSVID', { entry_id: entryId, audience });
  }

  /** `resumeAfter`: the event id of the last message applied ("0": the full set). */
  syncEntries(resumeAfter: string): ClientReadableStream<SyncEntriesResponseMessage> {
    return this.#stream('SyncEntries', { resume_after_event_id: resumeAfter });
  }

  watchBundle(): ClientReadableStream<WatchBundleResponseMessage> {
    return this.#stream('WatchBundle', {});
  }

  #unary<T>(name: string, request: object, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
    const m = method(name);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(
        m.path, m.requestSerialize, m.responseDeserialize, request, new Metadata(), { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(err) : resolve(res as T)),
      );
    });
  }

  #stream<T>(name: string, request: object): ClientReadableStream<T> {
    const m = method(name);
    return this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, request) as ClientReadableStream<T>;
  }
}
