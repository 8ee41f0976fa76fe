/**
 * A test agent for the agent API, built from the proto with grpc-js's generic Client (the agent
 * issue writes the real one). It dials 127.0.0.1 but checks the server certificate as an agent
 * does: chained to the given roots, named `localhost`, with the server's SPIFFE ID as URI SAN.
 */
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject, type X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import {
  Client, credentials, Metadata, type ClientDuplexStream, type ClientReadableStream, type ServiceError,
} from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { Pkcs10CertificateRequestGenerator } from '@peculiar/x509';
import { loadProto } from '../../proto/load.js';
import type {
  AttestRequest, AttestResult, MintJwtSvidResponse, MintX509SvidsResponse, RenewResponse, SyncEntriesResponse,
  WatchBundleResponse,
} from '../../server/api/agent/messages.js';

const SERVICE = 'sigil.agent.v1.AgentAPI';

type Method = MethodDefinition<object, object>;

function methods(): Record<string, Method> {
  return loadProto('sigil/agent/v1/agent.proto')[SERVICE] as Record<string, Method>;
}

export interface KeyAndCsr {
  privateKey: KeyObject;
  csr: Buffer;
}

/** A fresh P-256 key and a CSR for it, as an agent makes them (no names: the server picks them). */
export async function newKeyAndCsr(): Promise<KeyAndCsr> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const req = await Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, name: 'CN=agent' });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { privateKey: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }), csr: Buffer.from(req.rawData) };
}

/** Many CSRs for one key: signing is cheap, key generation is what costs. */
export async function csrsForOneKey(n: number): Promise<Buffer[]> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  return Promise.all(
    Array.from({ length: n }, async (_, i) =>
      Buffer.from((await Pkcs10CertificateRequestGenerator.create({ keys, signingAlgorithm: alg, name: `CN=w${i}` })).rawData),
    ),
  );
}

export interface ClientSvid {
  privateKey: KeyObject;
  /** DER, leaf first. */
  chain: Buffer[];
}

export interface ConnectOptions {
  roots: readonly X509Certificate[];
  /** The server's SPIFFE ID the certificate must carry. */
  serverId: string;
  svid?: ClientSvid;
}

/** A server stream's messages as they arrive, and how it ended. */
export class Collected<T> {
  readonly messages: T[] = [];
  error: ServiceError | undefined;
  ended = false;
  readonly #waiters = new Set<() => void>();

  constructor(readonly stream: ClientReadableStream<T>) {
    stream.on('data', (m: T) => this.#push(() => this.messages.push(m)));
    stream.on('error', (e: ServiceError) => this.#push(() => (this.error = e)));
    stream.on('end', () => this.#push(() => (this.ended = true)));
  }

  /** Resolves when `check` holds (checked on every arrival); fails after `ms`. */
  async until(what: string, check: () => boolean, ms = 5000): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`${what}: not within ${ms} ms (got ${this.messages.length} messages, error ${this.error?.message ?? 'none'})`));
      }, ms);
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  cancel(): void {
    this.stream.cancel();
  }

  #push(change: () => void): void {
    change();
    for (const w of [...this.#waiters]) w();
  }
}

export class TestAgentClient {
  readonly #client: Client;
  readonly #methods = methods();

  constructor(port: number, o: ConnectOptions) {
    const roots = Buffer.from(o.roots.map((c) => c.toString()).join(''));
    const key = o.svid && Buffer.from(o.svid.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const chain = o.svid && Buffer.from(o.svid.chain.map(derToPem).join(''));
    const creds = credentials.createSsl(roots, key ?? null, chain ?? null, {
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const sans = (cert.subjectaltname ?? '').split(', ');
        if (!sans.includes('DNS:localhost')) return new Error(`server certificate lacks DNS:localhost (${cert.subjectaltname})`);
        if (!sans.includes(`URI:${o.serverId}`)) return new Error(`server certificate is not ${o.serverId} (${cert.subjectaltname})`);
        return undefined;
      },
    });
    this.#client = new Client(`127.0.0.1:${port}`, creds, {
      'grpc.ssl_target_name_override': 'localhost',
      'grpc.use_local_subchannel_pool': 1,
    });
  }

  close(): void {
    this.#client.close();
  }

  /** Runs an attestation; `respond` answers challenges. */
  async attest(params: { type: string; payload: Uint8Array; csr: Buffer }, respond?: (c: Buffer) => Buffer | Promise<Uint8Array>): Promise<AttestResult> {
    const call = this.attestStream();
    call.write({ params: { attestor_type: params.type, payload: Buffer.from(params.payload), csr: params.csr } });
    return new Promise((resolve, reject) => {
      let result: AttestResult | undefined;
      call.on('data', (m: { challenge?: Buffer; result?: AttestResult }) => {
        if (m.result) result = m.result;
        else if (m.challenge && respond) {
          const challenge = m.challenge;
          Promise.resolve()
            .then(() => respond(challenge))
            .then(
              (answer) => call.write({ challenge_response: Buffer.from(answer) }),
              (err: unknown) => {
                call.cancel();
                reject(err instanceof Error ? err : new Error(String(err)));
              },
            );
        }
      });
      call.on('error', reject);
      call.on('end', () => (result ? resolve(result) : reject(new Error('Attest ended without a result'))));
    });
  }

  attestStream(): ClientDuplexStream<AttestRequest, { challenge?: Buffer; result?: AttestResult }> {
    const m = this.#methods['Attest']!;
    return this.#client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize) as ClientDuplexStream<
      AttestRequest,
      { challenge?: Buffer; result?: AttestResult }
    >;
  }

  /** An Attest stream that sends raw bytes as messages (for malformed-input tests). */
  rawAttestStream(): ClientDuplexStream<Buffer, { challenge?: Buffer; result?: AttestResult }> {
    const m = this.#methods['Attest']!;
    return this.#client.makeBidiStreamRequest(m.path, (b: Buffer) => b, m.responseDeserialize) as ClientDuplexStream<
      Buffer,
      { challenge?: Buffer; result?: AttestResult }
    >;
  }

  renew(csr: Buffer): Promise<RenewResponse> {
    return this.#unary('Renew', { csr });
  }

  mintX509(requests: { entry_id: string; csr: Buffer }[]): Promise<MintX509SvidsResponse> {
    return this.#unary('MintX509SVIDs', { requests });
  }

  mintJwt(entryId: string, audience: string[]): Promise<MintJwtSvidResponse> {
    return this.#unary('MintJWTSVID', { entry_id: entryId, audience });
  }

  sync(resumeAfterEventId = 0): Collected<SyncEntriesResponse & { kind: 'full' | 'update' }> {
    return new Collected(this.#stream('SyncEntries', { resume_after_event_id: resumeAfterEventId }));
  }

  watchBundle(): Collected<WatchBundleResponse> {
    return new Collected(this.#stream('WatchBundle', {}));
  }

  #unary<T>(name: string, request: object): Promise<T> {
    const m = this.#methods[name]!;
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new Metadata(), {}, (err, res) =>
        err ? reject(err) : resolve(res as T),
      );
    });
  }

  #stream<T>(name: string, request: object): ClientReadableStream<T> {
    const m = this.#methods[name]!;
    return this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, request) as ClientReadableStream<T>;
  }
}

export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}
