/**
 * A Workload API client for the tests, written from workload.proto with grpc-js's generic Client
 * (independent of the CLI's client, which is under test too). It sends the security header as
 * go-spiffe does unless a test asks it to omit or spoil it.
 */
import { Client, credentials, Metadata, type ClientReadableStream, type ServiceDefinition, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { healthServiceDefinition } from '../../../agent/workloadapi/index.js';
import { loadProto } from '../../../proto/load.js';

export type HeaderMode = 'ok' | 'missing' | 'wrong' | 'twice';

export function header(mode: HeaderMode = 'ok'): Metadata {
  const md = new Metadata();
  if (mode === 'ok') md.set('workload.spiffe.io', 'true');
  if (mode === 'wrong') md.set('workload.spiffe.io', 'True');
  if (mode === 'twice') {
    md.add('workload.spiffe.io', 'true');
    md.add('workload.spiffe.io', 'true');
  }
  return md;
}

const methods = (): ServiceDefinition => loadProto('workload.proto')['SpiffeWorkloadAPI'] as ServiceDefinition;

/** Each instance is its own connection (no subchannel sharing between clients). */
export class TestWorkloadClient {
  readonly #client: Client;

  constructor(socketPath: string) {
    this.#client = new Client(`unix://${socketPath}`, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  }

  close(): void {
    this.#client.close();
  }

  stream<Res>(method: string, opts: { header?: HeaderMode; deadlineMs?: number } = {}): ClientReadableStream<Res> {
    const m = methods()[method];
    if (m === undefined) throw new Error(`no method ${method}`);
    const callOpts = opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
    return this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, {}, header(opts.header), callOpts) as ClientReadableStream<Res>;
  }

  unary<Res>(method: string, request: object, opts: { header?: HeaderMode; deadlineMs?: number } = {}): Promise<Res> {
    const m = methods()[method];
    if (m === undefined) throw new Error(`no method ${method}`);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, header(opts.header), { deadline: Date.now() + (opts.deadlineMs ?? 10_000) }, (err, res) =>
        err ? reject(err) : resolve(res as Res),
      );
    });
  }

  /** The first message of a stream, or its failure status. */
  first<Res>(method: string, opts: { header?: HeaderMode; deadlineMs?: number } = {}): Promise<Res> {
    return new Promise((resolve, reject) => {
      const call = this.stream<Res>(method, { deadlineMs: 10_000, ...opts });
      let done = false;
      call.once('data', (msg: Res) => {
        done = true;
        resolve(msg);
        call.cancel();
      });
      call.on('error', (err: ServiceError) => {
        if (!done) reject(err);
      });
    });
  }

  health(service = '', deadlineMs = 10_000): Promise<{ status: string; detail: string }> {
    const m = healthServiceDefinition()['Check'];
    if (m === undefined) throw new Error('no Check');
    return new Promise((resolve, reject) => {
      let outcome: { err: unknown; res: { status: string } | undefined } | undefined;
      const call = this.#client.makeUnaryRequest<{ service: string }, { status: string }>(
        m.path, m.requestSerialize, m.responseDeserialize, { service }, new Metadata(), { deadline: Date.now() + deadlineMs },
        (err, res) => {
          outcome = { err, res };
        },
      );
      call.on('status', (st) => {
        if (outcome?.err) reject(outcome.err);
        else resolve({ status: outcome?.res?.status ?? 'UNKNOWN', detail: String(st.metadata.get('sigil-health-detail')[0] ?? '') });
      });
    });
  }
}

/** Collects a stream's messages and its final status, with waits for either. */
export class StreamRecorder<Res> {
  readonly messages: Res[] = [];
  status: StatusObject | undefined;
  readonly #waiters: (() => void)[] = [];

  constructor(readonly call: ClientReadableStream<Res>) {
    call.on('data', (m: Res) => {
      this.messages.push(m);
      this.#wake();
    });
    call.on('error', () => undefined);
    call.on('status', (s: StatusObject) => {
      this.status = s;
      this.#wake();
    });
  }

  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!pred()) {
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (messages: ${this.messages.length}, status: ${this.status?.code})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  messageCount(n: number, timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.messages.length >= n, timeoutMs, `${n} messages`);
  }

  ended(timeoutMs?: number): Promise<void> {
    return this.waitFor(() => this.status !== undefined, timeoutMs, 'the end of the stream');
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }
}
