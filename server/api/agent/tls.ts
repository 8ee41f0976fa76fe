/**
 * The agent API's TLS listener. sigil terminates TLS itself and hands each connection to gRPC
 * through grpc-js's connection injector (public since 1.11), rather than letting grpc-js bind the
 * port, for two reasons:
 * - Peer chains. grpc-js 1.14's `call.getAuthContext()` gives only the leaf, and only when Node's
 *   own verification passed; SPIFFE verification needs the intermediates the agent sent (an
 *   upstream-chained CA, or another server's CA in HA). Owning the TLSSocket gives the whole chain;
 *   a call finds its socket by `call.getPeer()` (remote address and port, unique per connection).
 * - Rotation. tls.Server.setSecureContext swaps the certificate for new connections without
 *   touching open ones (grpc-js's own path does the same through ServerCredentials watchers), so
 *   the server SVID is renewed at half its life and the trust roots follow the bundle.
 * Client certificates are requested, not required (Attest has none), and Node's verdict is ignored:
 * every call that needs an identity verifies the chain itself (peer-auth.ts). Session tickets are
 * off, as in SPIRE, so every connection presents its certificate afresh.
 */
import { constants, generateKeyPairSync, type X509Certificate } from 'node:crypto';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { messageOf } from '../../../spiffe/errors.js';
import type { IssuedX509Svid, ServerCa } from '../../ca/index.js';
import type { Logger } from './logger.js';

export interface TlsListenerOptions {
  ca: Pick<ServerCa, 'issueServerSvid'>;
  /** DNS names in the server's certificate besides `localhost`. */
  dnsNames: readonly string[];
  /** The trust roots client certificates are requested against. */
  roots: readonly X509Certificate[];
  logger: Logger;
  /** Every established connection; grpc takes it from here. */
  onConnection: (socket: TLSSocket) => void;
}

interface ServerKeyAndCert {
  key: string;
  cert: string;
  issued: IssuedX509Svid;
  /** When it was issued (not its notBefore, which is backdated). */
  at: number;
}

/** After a failed renewal, try again this soon (the current SVID still has half its life). */
const RETRY_MS = 30_000;

/** Never renew more often than this, whatever the SVID TTL. */
const MIN_ROTATION_MS = 1000;

export class TlsListener {
  readonly #o: TlsListenerOptions;
  readonly #server: Server;
  readonly #peers = new Map<string, TLSSocket>();
  #svid: ServerKeyAndCert;
  #roots: readonly X509Certificate[];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(o: TlsListenerOptions, svid: ServerKeyAndCert) {
    this.#o = o;
    this.#svid = svid;
    this.#roots = o.roots;
    this.#server = createServer({
      ...this.#contextOptions(),
      ALPNProtocols: ['h2'],
      requestCert: true,
      rejectUnauthorized: false,
    });
    this.#server.on('secureConnection', (socket) => this.#accept(socket));
    this.#server.on('tlsClientError', (err, socket) =>
      o.logger.debug({ peer: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'agentapi: TLS handshake failed'),
    );
  }

  static async listen(bind: { host: string; port: number }, o: TlsListenerOptions): Promise<TlsListener> {
    const listener = new TlsListener(o, await issue(o));
    await new Promise<void>((resolve, reject) => {
      listener.#server.once('error', reject);
      listener.#server.listen(bind.port, bind.host, () => {
        listener.#server.off('error', reject);
        resolve();
      });
    });
    listener.#server.on('error', (err) => o.logger.error({ err: err.message }, 'agentapi: TLS listener error'));
    listener.#scheduleRotation();
    return listener;
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('agentapi: the TLS listener is not bound to a TCP port');
    return address.port;
  }

  /** The server's current SVID (tests and status). */
  get svid(): IssuedX509Svid {
    return this.#svid.issued;
  }

  /** The connection a call arrived on, by `call.getPeer()`. */
  socketOf(peer: string): TLSSocket | undefined {
    return this.#peers.get(peer);
  }

  /** New trust roots for client certificate requests (the bundle changed). */
  setRoots(roots: readonly X509Certificate[]): void {
    this.#roots = roots;
    this.#server.setSecureContext(this.#contextOptions());
  }

  /** Issues a new server SVID now and uses it for new connections. */
  async rotate(): Promise<void> {
    const svid = await issue(this.#o);
    if (this.#closed) return;
    this.#svid = svid;
    this.#server.setSecureContext(this.#contextOptions());
    this.#o.logger.info(
      { serial: svid.issued.serialNumber, expiresAt: svid.issued.expiresAt.toISOString() },
      'agentapi: rotated the server SVID',
    );
    this.#scheduleRotation();
  }

  /** Stops accepting connections and ends the open ones. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const socket of this.#peers.values()) socket.destroy();
    await closed;
  }

  #accept(socket: TLSSocket): void {
    const key = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#peers.set(key, socket);
    socket.once('close', () => {
      if (this.#peers.get(key) === socket) this.#peers.delete(key);
    });
    this.#o.onConnection(socket);
  }

  #contextOptions(): { key: string; cert: string; ca: string[]; secureOptions: number; minVersion: 'TLSv1.2' } {
    return {
      key: this.#svid.key,
      cert: this.#svid.cert,
      ca: this.#roots.map((c) => c.toString()),
      secureOptions: constants.SSL_OP_NO_TICKET,
      minVersion: 'TLSv1.2',
    };
  }

  #scheduleRotation(): void {
    const { issued, at } = this.#svid;
    const halfLife = (issued.expiresAt.getTime() - at) / 2;
    this.#schedule(Math.max(MIN_ROTATION_MS, at + halfLife - Date.now()));
  }

  #schedule(ms: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.rotate().catch((err: unknown) => {
        this.#o.logger.error({ err: messageOf(err), retryInMs: RETRY_MS }, 'agentapi: renewing the server SVID failed');
        this.#schedule(RETRY_MS);
      });
    }, ms);
    this.#timer.unref();
  }
}

async function issue(o: TlsListenerOptions): Promise<ServerKeyAndCert> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const dnsNames = [...new Set(['localhost', ...o.dnsNames])];
  const at = Date.now();
  const issued = await o.ca.issueServerSvid({ publicKey, dnsNames });
  return {
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    cert: issued.certificates.map((c) => c.toString()).join(''),
    issued,
    at,
  };
}
