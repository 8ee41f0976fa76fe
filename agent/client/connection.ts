/**
 * The agent's current way to the server: one AgentApiClient for the current (trust, identity)
 * pair. When either changes — the bundle gains a CA, the agent renews its SVID — the next call
 * gets a new channel; the old one is closed at once, which in grpc-js fails only calls not yet
 * started, so open streams run on until they end. Every client carries the generation it was made
 * in, so a refusal can be told apart from one caused by credentials already replaced.
 */
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { formatHostPort, type HostPort } from '../config/index.js';
import { AgentApiClient } from './api.js';
import { channelCredentials, serverName, type ClientIdentity, type ServerTrust } from './tls.js';

export interface ConnectedClient {
  readonly api: AgentApiClient;
  /** Goes up on every change of trust or identity. */
  readonly generation: number;
}

export class ServerConnection {
  readonly address: HostPort;
  readonly trustDomain: TrustDomain;
  #trust: ServerTrust | undefined;
  #identity: ClientIdentity | undefined;
  #current: ConnectedClient | undefined;
  #generation = 0;
  #closed = false;

  constructor(address: HostPort, trustDomain: TrustDomain) {
    this.address = address;
    this.trustDomain = trustDomain;
  }

  get generation(): number {
    return this.#generation;
  }

  get hasIdentity(): boolean {
    return this.#identity !== undefined;
  }

  setTrust(trust: ServerTrust): void {
    this.#trust = trust;
    this.#invalidate();
  }

  setIdentity(identity: ClientIdentity | undefined): void {
    this.#identity = identity;
    this.#invalidate();
  }

  /** The client for the current credentials (made on first use). */
  client(): ConnectedClient {
    if (this.#closed) throw new Error('agent client: the connection to the server is closed');
    if (this.#trust === undefined) throw new Error('agent client: no trust in the server yet (no bundle)');
    this.#current ??= { api: this.#open(this.#trust, this.#identity), generation: this.#generation };
    return this.#current;
  }

  /** A one-off client (no client certificate) for attesting with `trust`; the caller closes it. */
  bootstrapClient(trust: ServerTrust): AgentApiClient {
    return this.#open(trust, undefined);
  }

  close(): void {
    this.#closed = true;
    this.#current?.api.close();
    this.#current = undefined;
  }

  #invalidate(): void {
    this.#generation++;
    this.#current?.api.close();
    this.#current = undefined;
  }

  #open(trust: ServerTrust, identity: ClientIdentity | undefined): AgentApiClient {
    const creds = channelCredentials(this.trustDomain, trust, identity);
    return new AgentApiClient(`dns:${formatHostPort(this.address)}`, creds, serverName(this.address, this.trustDomain));
  }
}
