/**
 * The agent's identity over its life: reuse the SVID kept in the data directory while it is valid
 * (a join token works once, so a restart must not attest again), else attest; renew at half-life
 * with jitter (agents that can re-attest attest again instead, as the server requires); follow the
 * server's refusals: AGENT_BANNED stops the agent, AGENT_NOT_ATTESTED / AGENT_MUST_REATTEST /
 * AGENT_NOT_ACTIVE make it attest again if its attestor can, and stop it if not.
 */
import type { AgentNodeAttestor } from '../../attestors/node/node-attestor.js';
import type { SpiffeBundle } from '../../spiffe/bundle/index.js';
import { messageOf, SigilError, Status } from '../../spiffe/errors.js';
import type { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { Backoff } from '../client/backoff.js';
import type { ServerConnection } from '../client/connection.js';
import { denyReason, grpcCode, isTransient } from '../client/errors.js';
import type { Bootstrap } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { ServerTrust } from '../client/tls.js';
import { rotationTimeMs } from '../svid/rotation.js';
import { checkAgentSvid, parseBundle, type AgentSvid } from './agent-svid.js';
import { attest, renew, type Attested } from './attest.js';
import { bootstrapTrust } from './bootstrap.js';
import { AttestationError, AttestationErrorCode } from './errors.js';
import type { AgentStateStore } from './store.js';

export interface AgentIdentityOptions {
  trustDomain: TrustDomain;
  connection: ServerConnection;
  bootstrap: Bootstrap;
  /** Undefined when no join token (or other attestor) is configured. */
  attestor: AgentNodeAttestor | undefined;
  store: AgentStateStore;
  logger: Logger;
  /** A new agent SVID is in use (streams opened with the old one should reopen). */
  onSvid: (svid: AgentSvid) => void;
  onBundle: (bundle: SpiffeBundle) => void;
  /** The agent cannot go on. */
  onFatal: (err: AttestationError) => void;
  /** How long attestation keeps retrying an unreachable server at start (default 2 min). */
  startupRetryMs?: number;
}

const RETRY = { baseMs: 1000, maxMs: 10_000 };

export class AgentIdentity {
  readonly #o: AgentIdentityOptions;
  readonly #retry = new Backoff(RETRY.baseMs, RETRY.maxMs);
  #svid: AgentSvid | undefined;
  #bundle: SpiffeBundle | undefined;
  #bundleJson = '';
  #timer: NodeJS.Timeout | undefined;
  #reattesting = false;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(o: AgentIdentityOptions) {
    this.#o = o;
  }

  get svid(): AgentSvid | undefined {
    return this.#svid;
  }

  get bundle(): SpiffeBundle | undefined {
    return this.#bundle;
  }

  /** Loads or attests; afterwards the connection carries the agent's SVID and bundle. */
  async start(): Promise<AgentSvid> {
    await this.#o.store.prepare();
    const stored = await this.#reusable();
    if (stored !== undefined && stored.svid.reattestable && this.#o.attestor !== undefined) {
      await this.#attestAgainAtStart(stored, this.#o.attestor);
    } else if (stored !== undefined) {
      this.#adoptBundle(stored.bundle, stored.bundleJson);
      this.#adoptSvid(stored.svid);
      this.#o.logger.info(
        { agentId: stored.svid.id, expiresAt: iso(stored.svid.expiresAt), path: this.#o.store.path },
        'agent: reusing the stored agent SVID; not attesting again',
      );
    } else {
      const started = performance.now();
      const attested = await this.#attestAtStart();
      const ms = Math.round(performance.now() - started);
      await this.#adopt(attested);
      this.#o.logger.info({ agentId: attested.svid.id, expiresAt: iso(attested.svid.expiresAt), ms }, 'agent: node attestation succeeded');
    }
    this.#schedule();
    return this.#svid!;
  }

  /**
   * An agent whose attestor can attest again (tpm) does so at every start, trusting the server with
   * the stored bundle: the node's state is checked anew (a reboot may have changed its PCRs) and the
   * agent keeps its ID. Only when the server cannot be reached does it start on the stored SVID.
   */
  async #attestAgainAtStart(stored: { svid: AgentSvid; bundle: SpiffeBundle; bundleJson: string }, attestor: AgentNodeAttestor): Promise<void> {
    try {
      const started = performance.now();
      const attested = await attest(this.#o.connection, { kind: 'bundle', authorities: stored.bundle.x509Authorities() }, attestor);
      const ms = Math.round(performance.now() - started);
      await this.#adopt(attested);
      this.#o.logger.info({ agentId: attested.svid.id, expiresAt: iso(attested.svid.expiresAt), ms }, 'agent: attested again at start');
    } catch (err) {
      if (err instanceof AttestationError || !isTransient(err)) throw attestationFailed(attestor.type, err);
      this.#adoptBundle(stored.bundle, stored.bundleJson);
      this.#adoptSvid(stored.svid);
      this.#o.logger.warn(
        { agentId: stored.svid.id, err: messageOf(err), expiresAt: iso(stored.svid.expiresAt) },
        'agent: cannot attest again at start (server unreachable); using the stored agent SVID until it can',
      );
    }
  }

  /** A bundle from WatchBundle: kept, persisted and trusted for new connections when it changed. */
  async bundleReceived(json: string): Promise<void> {
    const bundle = parseBundle(this.#o.trustDomain, json);
    if (this.#bundle !== undefined && this.#bundle.equals(bundle)) return;
    this.#adoptBundle(bundle, json);
    if (this.#svid !== undefined) await this.#save();
    this.#o.logger.info({ sequence: bundle.sequenceNumber?.toString(), authorities: bundle.x509Authorities().length }, 'agent: trust bundle updated');
  }

  /** Any call's failure: refusals with a reason may make the agent attest again or stop. */
  refused(err: unknown, generation: number): void {
    const reason = denyReason(err);
    if (reason === undefined || this.#stopped || generation !== this.#o.connection.generation) return;
    const id = this.#svid?.id ?? 'this agent';
    if (reason === 'AGENT_BANNED') {
      this.#fatal(
        new AttestationError(
          AttestationErrorCode.banned,
          `the server banned ${id}: stopping. An operator must evict it (sigil server agent evict) and give it a new join token before it can attest again`,
        ),
      );
      this.#o.store.remove().catch((e: unknown) => this.#o.logger.error({ err: messageOf(e) }, 'agent: removing the banned agent SVID failed'));
      return;
    }
    if (reason === 'NOT_AN_AGENT') {
      this.#fatal(new AttestationError(AttestationErrorCode.lost, `the server does not take ${id} for an agent`));
      return;
    }
    this.#o.logger.warn({ agentId: id, reason }, 'agent: the server no longer accepts this agent SVID; attesting again');
    void this.#reattest(reason);
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake?.();
  }

  /** A wait that stop() cuts short, so a stop during start-up retries is prompt. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #reusable(): Promise<{ svid: AgentSvid; bundle: SpiffeBundle; bundleJson: string } | undefined> {
    const stored = await this.#o.store.load();
    if (stored === undefined) return undefined;
    const td = this.#o.trustDomain;
    try {
      if (stored.trustDomain !== td.name) throw new Error(`it is for trust domain ${stored.trustDomain}, not ${td.name}`);
      const bundle = parseBundle(td, stored.bundleJson);
      checkAgentSvid(td, stored.svid.chain, stored.svid.privateKey, bundle, stored.svid.id);
      return { svid: stored.svid, bundle, bundleJson: stored.bundleJson };
    } catch (err) {
      this.#o.logger.info({ path: this.#o.store.path, reason: messageOf(err) }, 'agent: the stored agent SVID cannot be used; attesting');
      return undefined;
    }
  }

  async #attestAtStart(): Promise<Attested> {
    const attestor = this.#o.attestor;
    if (attestor === undefined) {
      throw new AttestationError(
        AttestationErrorCode.failed,
        `there is no valid agent SVID in ${this.#o.store.path} and nothing to attest with: give a join token (--join-token or joinToken)`,
      );
    }
    const deadline = Date.now() + (this.#o.startupRetryMs ?? 120_000);
    let trust: ServerTrust | undefined;
    for (;;) {
      try {
        // Insecure bootstrap probes the server, which may not be up yet either.
        trust ??= await bootstrapTrust(this.#o.bootstrap, this.#o.connection.address, this.#o.trustDomain, this.#o.logger);
        return await attest(this.#o.connection, trust, attestor);
      } catch (err) {
        if (err instanceof AttestationError) throw err;
        if (!isTransient(err) || Date.now() > deadline || this.#stopped) throw attestationFailed(attestor.type, err);
        const delay = this.#retry.next();
        this.#o.logger.warn({ err: messageOf(err), retryInMs: delay }, 'agent: cannot attest yet (server unreachable); retrying');
        await this.#sleep(delay);
        if (this.#stopped) throw new AttestationError(AttestationErrorCode.failed, 'stopped while waiting to attest');
      }
    }
  }

  async #reattest(reason: string): Promise<void> {
    if (this.#reattesting || this.#stopped) return;
    const attestor = this.#o.attestor;
    const bundle = this.#bundle;
    if (attestor === undefined || bundle === undefined) {
      this.#fatal(new AttestationError(AttestationErrorCode.lost, `the server refused this agent (${reason}) and it has nothing to attest again with`));
      return;
    }
    this.#reattesting = true;
    try {
      const attested = await attest(this.#o.connection, { kind: 'bundle', authorities: bundle.x509Authorities() }, attestor);
      if (this.#stopped) return;
      await this.#adopt(attested);
      this.#retry.reset();
      this.#schedule();
      this.#o.logger.info({ agentId: attested.svid.id, expiresAt: iso(attested.svid.expiresAt) }, 'agent: attested again');
    } catch (err) {
      if (isTransient(err)) {
        const delay = this.#retry.next();
        this.#o.logger.warn({ err: messageOf(err), retryInMs: delay }, 'agent: attesting again failed; retrying');
        setTimeout(() => void this.#reattest(reason), delay).unref();
        return;
      }
      this.#fatal(
        new AttestationError(AttestationErrorCode.lost, `the server refused this agent (${reason}) and attesting again failed: ${messageOf(err)}`, {
          cause: err,
        }),
      );
    } finally {
      this.#reattesting = false;
    }
  }

  #schedule(): void {
    const svid = this.#svid;
    if (svid === undefined || this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const at = rotationTimeMs(svid.issuedAtMs, svid.expiresAt * 1000);
    this.#timer = setTimeout(() => void this.#rotate(), Math.max(0, Math.min(2 ** 31 - 1, at - Date.now())));
    this.#timer.unref();
  }

  async #rotate(): Promise<void> {
    this.#timer = undefined;
    const svid = this.#svid;
    const bundle = this.#bundle;
    if (svid === undefined || bundle === undefined || this.#stopped) return;
    try {
      if (svid.reattestable && this.#o.attestor !== undefined) {
        await this.#adopt(await attest(this.#o.connection, { kind: 'bundle', authorities: bundle.x509Authorities() }, this.#o.attestor));
      } else {
        await this.#adopt({ svid: await renew(this.#o.connection, svid, bundle), bundle, bundleJson: this.#bundleJson });
      }
      this.#retry.reset();
      this.#o.logger.info({ agentId: this.#svid!.id, expiresAt: iso(this.#svid!.expiresAt) }, 'agent: renewed the agent SVID');
      this.#schedule();
    } catch (err) {
      if (this.#stopped) return;
      this.refused(err, this.#o.connection.generation);
      const left = svid.expiresAt * 1000 - Date.now();
      if (left <= 0 && !svid.reattestable) {
        this.#fatal(
          new AttestationError(AttestationErrorCode.lost, `the agent SVID expired before it could be renewed (${messageOf(err)}); it needs a new join token`, {
            cause: err,
          }),
        );
        return;
      }
      // Retry well before expiry: never wait more than a tenth of what is left.
      const delay = Math.max(200, Math.min(this.#retry.next(), left / 10));
      this.#o.logger.warn({ err: messageOf(err), retryInMs: Math.round(delay), expiresAt: iso(svid.expiresAt) }, 'agent: renewing the agent SVID failed; retrying');
      this.#timer = setTimeout(() => void this.#rotate(), delay);
      this.#timer.unref();
    }
  }

  async #adopt(a: Attested): Promise<void> {
    this.#adoptBundle(a.bundle, a.bundleJson);
    this.#adoptSvid(a.svid);
    await this.#save();
  }

  #adoptBundle(bundle: SpiffeBundle, json: string): void {
    this.#bundle = bundle;
    this.#bundleJson = json;
    this.#o.connection.setTrust({ kind: 'bundle', authorities: bundle.x509Authorities() });
    this.#o.onBundle(bundle);
  }

  #adoptSvid(svid: AgentSvid): void {
    this.#svid = svid;
    this.#o.connection.setIdentity({ chain: svid.chain, privateKey: svid.privateKey });
    this.#o.onSvid(svid);
  }

  #save(): Promise<void> {
    return this.#o.store.save({ trustDomain: this.#o.trustDomain.name, svid: this.#svid!, bundleJson: this.#bundleJson });
  }

  #fatal(err: AttestationError): void {
    if (this.#stopped) return;
    this.stop();
    this.#o.logger.error({ code: err.code }, err.message);
    this.#o.onFatal(err);
  }
}

function iso(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString();
}

function attestationFailed(type: string, err: unknown): AttestationError {
  const code = grpcCode(err);
  const hint =
    code === Status.PERMISSION_DENIED || code === Status.INVALID_ARGUMENT
      ? type === 'join_token'
        ? ': the join token is unknown, already used or expired; create a new one with `sigil server token generate`'
        : ''
      : (code === undefined && !(err instanceof SigilError)) || isTransient(err)
        ? ': the server could not be reached'
        : '';
  return new AttestationError(AttestationErrorCode.failed, `node attestation (${type}) failed: ${messageOf(err)}${hint}`, { cause: err });
}
