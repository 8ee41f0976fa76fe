/**
 * Who is calling: SPIRE's agent authorizer. The client certificate chain (from the connection's
 * TLSSocket) must verify as an X.509-SVID of this trust domain against the current bundle, name an
 * agent (`/sigil/agent/...`), and that agent must be attested, not banned, and using its current
 * SVID — or the one Renew issued last, which is then promoted to current (its first use retires
 * the old one, as in SPIRE). The agent record is read from the datastore on every call (SPIRE's
 * default), so a ban on any server is seen by the next call on every server.
 */
import { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { messageOf } from '../../../spiffe/errors.js';
import { SpiffeId, type TrustDomain } from '../../../spiffe/spiffeid/index.js';
import { parseAndVerifyX509Svid } from '../../../spiffe/x509svid/index.js';
import type { AgentStore } from '../../datastore/datastore.js';
import { DatastoreError, DatastoreErrorCode } from '../../datastore/errors.js';
import type { AttestedAgent } from '../../datastore/types.js';
import type { BundleWatch } from './bundle-watch.js';
import { AgentApiError, AgentApiErrorCode, denied, type DenyReason } from './errors.js';
import type { Logger } from './logger.js';

export interface AuthenticatedAgent {
  id: SpiffeId;
  record: AttestedAgent;
}

export interface PeerAuthDeps {
  trustDomain: TrustDomain;
  agents: Pick<AgentStore, 'get' | 'promoteNewSerial'>;
  bundles: Pick<BundleWatch, 'current'>;
  socketOf: (peer: string) => TLSSocket | undefined;
  /** Told of every fresh agent record read here. */
  noteAgent: (record: AttestedAgent) => void;
  logger: Logger;
  now?: () => Date;
}

/** The part of a gRPC call authentication looks at. */
export interface PeerCall {
  getPeer(): string;
}

export class PeerAuthenticator {
  readonly #d: PeerAuthDeps;
  readonly #agentPrefix: string;

  constructor(deps: PeerAuthDeps) {
    this.#d = deps;
    this.#agentPrefix = `${deps.trustDomain.idString()}/sigil/agent/`;
  }

  async authenticate(call: PeerCall, method: string): Promise<AuthenticatedAgent> {
    const peer = call.getPeer();
    const chain = this.#chain(peer);
    let id: SpiffeId;
    try {
      id = parseAndVerifyX509Svid(chain, this.#d.bundles.current.bundle, { time: this.#now() }).id;
    } catch (err) {
      this.#d.logger.warn({ peer, method, err: messageOf(err) }, 'agentapi: refused a client certificate');
      throw new AgentApiError(
        AgentApiErrorCode.unauthenticated,
        `the client certificate is not a valid X.509-SVID of trust domain "${this.#d.trustDomain.name}": ${messageOf(err)}`,
        { cause: err },
      );
    }
    const agentId = id.toString();
    const refuse = (message: string, reason: DenyReason): AgentApiError => {
      this.#d.logger.warn({ peer, method, agentId, reason }, `agentapi: refused agent: ${message}`);
      return denied(message, reason);
    };
    if (!agentId.startsWith(this.#agentPrefix)) throw refuse(`caller ${agentId} is not an agent`, 'NOT_AN_AGENT');
    const serial = normalizeSerial(new X509Certificate(chain[0]!).serialNumber);
    let record = await this.#d.agents.get(agentId);
    if (record === undefined) throw refuse('agent not attested', 'AGENT_NOT_ATTESTED');
    if (record.banned) throw refuse('agent is banned', 'AGENT_BANNED');
    if (serial !== normalizeSerial(record.serialNumber)) {
      if (record.newSerialNumber === null || serial !== normalizeSerial(record.newSerialNumber)) {
        throw refuse('agent SVID is not the current one', 'AGENT_NOT_ACTIVE');
      }
      record = await this.#promote(agentId, serial);
      if (record === undefined) throw refuse('agent SVID is not the current one', 'AGENT_NOT_ACTIVE');
    }
    this.#d.noteAgent(record);
    return { id, record };
  }

  /** The peer's certificates as DER, leaf first; Unauthenticated when it sent none. */
  #chain(peer: string): Buffer[] {
    const socket = this.#d.socketOf(peer);
    const chain: Buffer[] = [];
    if (socket !== undefined) {
      const seen = new Set<string>();
      // Node links each certificate to its issuer, ending at a self-signed one that links to itself.
      for (let c = socket.getPeerCertificate(true); c?.raw !== undefined; c = c.issuerCertificate) {
        const key = c.fingerprint256;
        if (seen.has(key)) break;
        seen.add(key);
        chain.push(c.raw);
      }
    }
    if (chain.length === 0) {
      throw new AgentApiError(AgentApiErrorCode.unauthenticated, 'a client certificate is required: attest first, then call with the agent SVID');
    }
    return chain;
  }

  /** Makes the renewed SVID current; undefined if another server promoted a different one first. */
  async #promote(agentId: string, serial: string): Promise<AttestedAgent | undefined> {
    try {
      const record = await this.#d.agents.promoteNewSerial(agentId);
      this.#d.logger.info({ agentId, serial }, 'agentapi: agent switched to its renewed SVID');
      return record;
    } catch (err) {
      if (!(err instanceof DatastoreError && err.code === DatastoreErrorCode.conflict)) throw err;
      // Lost the race to another call or server: fine if that one promoted this very serial.
      const now = await this.#d.agents.get(agentId);
      return now !== undefined && !now.banned && normalizeSerial(now.serialNumber) === serial ? now : undefined;
    }
  }

  #now(): Date {
    return this.#d.now?.() ?? new Date();
  }
}

/** Serials compare as numbers: upper case, no leading zeros (OpenSSL and our issuer may differ there). */
export function normalizeSerial(hex: string): string {
  return hex.toUpperCase().replace(/^0+(?=.)/, '');
}
