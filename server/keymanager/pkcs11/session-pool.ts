/**
 * The sessions one key manager signs on. Each session runs one operation at a time (C_SignInit
 * and C_Sign of two requests interleaved on one session fail with CKR_OPERATION_ACTIVE:
 * platform-notes §A.3, pitfall 3); requests go to the session with the shortest queue, so the
 * token signs on several at once. The user logs in once: a login holds for all of an
 * application's sessions.
 *
 * When a session, the login or the token fails, the pool drops every session, reinitializes the
 * module (which is how a token that went away is found again) and retries the request on new
 * sessions, a few times. What still fails is an `unavailable` error naming the token; the next
 * request (or health check) tries again, at most once a second, so a missing token is not hammered.
 * A wrong PIN is never retried: tokens lock after a few wrong logins.
 */
import pkcs11js from 'pkcs11js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import { tokenName, type Pkcs11KeyManagerConfig } from './config.js';
import { ckrCode, describePkcs11Error, needsReconnect } from './errors.js';
import { PKCS11_TYPE, type Pkcs11, type SharedModule } from './module.js';

const ATTEMPTS = 3;
const RETRY_DELAY_MS = 50;
/** After a failed connect, requests fail at once with its error for this long. */
const RECONNECT_INTERVAL_MS = 1_000;

const PIN_FAILURES = new Set<number>([
  pkcs11js.CKR_PIN_INCORRECT, pkcs11js.CKR_PIN_INVALID, pkcs11js.CKR_PIN_LEN_RANGE, pkcs11js.CKR_PIN_EXPIRED, pkcs11js.CKR_PIN_LOCKED,
]);

interface Session {
  readonly handle: Buffer;
  tail: Promise<unknown>;
  queued: number;
}

/** One set of open, logged-in sessions; replaced whole after a failure. */
export interface Connection {
  /** The module epoch the sessions were opened in. */
  readonly epoch: number;
  /** Counts connections: object handles cached from an older one are not to be trusted. */
  readonly generation: number;
  readonly slot: Buffer;
  readonly sessions: readonly Session[];
}

export type SessionTask<T> = (lib: Pkcs11, session: Buffer, connection: Connection) => T | Promise<T>;

export interface SessionPoolOptions {
  config: Pkcs11KeyManagerConfig;
  pin: string;
  /** `pinFile /run/secrets/hsm-pin`, for messages. */
  pinSource: string;
  sessions: number;
  logger?: Logger;
}

export class SessionPool {
  readonly #module: SharedModule;
  readonly #o: SessionPoolOptions;
  readonly token: string;
  #conn: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  #dropping: Promise<void> = Promise.resolve();
  #generation = 0;
  #connectFailure: { error: KeyManagerError; at: number; permanent: boolean } | undefined;
  #closed = false;

  private constructor(module: SharedModule, o: SessionPoolOptions) {
    this.#module = module;
    this.#o = o;
    this.token = tokenName(o.config);
  }

  /** Opens the sessions and logs in; a missing token or a wrong PIN is an error here, naming the token. */
  static async open(module: SharedModule, o: SessionPoolOptions): Promise<SessionPool> {
    const pool = new SessionPool(module, o);
    await pool.#connection();
    return pool;
  }

  get sessionCount(): number {
    return this.#o.sessions;
  }

  /**
   * Runs `task` on a session of its own, reconnecting and retrying when the session or token
   * failed. `what` completes "cannot …" in the error.
   */
  async run<T>(what: string, task: SessionTask<T>): Promise<T> {
    let failure: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let conn: Connection;
      try {
        conn = await this.#connection();
      } catch (err) {
        throw this.#unavailable(what, err);
      }
      const session = conn.sessions.reduce((a, b) => (b.queued < a.queued ? b : a));
      let stale = false;
      try {
        return await serialized(session, () =>
          this.#module.call((lib, epoch) => {
            // The module was initialized again while this request waited: modules hand out the same
            // session and object handles afresh (SoftHSM restarts at 1), so this session's handle may
            // now be another connection's session, and a cached key handle another key.
            if (epoch !== conn.epoch) {
              stale = true;
              throw new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.unavailable, `cannot ${what}: ${this.token} was reinitialized`);
            }
            return task(lib, session.handle, conn);
          }),
        );
      } catch (err) {
        if (stale) {
          // Nothing ran: the next attempt opens sessions in the new epoch (#connection sees it).
          failure = err;
          continue;
        }
        if (!needsReconnect(err)) throw this.#failed(what, err);
        failure = err;
        this.#drop(conn, err);
        if (attempt < ATTEMPTS) await sleep(RETRY_DELAY_MS * attempt);
      }
    }
    throw this.#unavailable(what, failure, ` after ${ATTEMPTS} attempts`);
  }

  /** Waits for queued operations, closes the sessions and releases the module. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const conn = this.#conn ?? (await this.#connecting?.catch(() => undefined));
    this.#conn = undefined;
    await this.#dropping;
    if (conn !== undefined) {
      await Promise.all(conn.sessions.map((s) => s.tail));
      await this.#closeSessions(conn);
    }
    this.#module.release();
  }

  /** A failure of the request itself (a bad mechanism, a key that is gone): no reconnect cures it. */
  #failed(what: string, err: unknown): unknown {
    if (!(err instanceof pkcs11js.Pkcs11Error)) return err;
    return new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.io, `cannot ${what}: ${this.token} refused (${describePkcs11Error(err)})`, {
      cause: err,
    });
  }

  #unavailable(what: string, err: unknown, suffix = ''): KeyManagerError {
    if (err instanceof KeyManagerError) {
      return err.code === KeyManagerErrorCode.unavailable || err.code === KeyManagerErrorCode.closed
        ? err
        : new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.unavailable, `cannot ${what}: ${stripPrefix(err.message)}`, { cause: err });
    }
    return new KeyManagerError(
      PKCS11_TYPE,
      KeyManagerErrorCode.unavailable,
      `cannot ${what}: ${this.token} failed${suffix} (${describePkcs11Error(err)}); check the HSM, sigil retries on the next request`,
      { cause: err },
    );
  }

  #connection(): Promise<Connection> {
    if (this.#closed) {
      return Promise.reject(new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.closed, 'the key manager is closed: open a new one'));
    }
    const conn = this.#conn;
    // Another key manager on the module reinitialized it: these sessions are gone.
    if (conn !== undefined && conn.epoch === this.#module.epoch) return Promise.resolve(conn);
    this.#conn = undefined;
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<Connection> {
    await this.#dropping;
    const last = this.#connectFailure;
    if (last !== undefined && (last.permanent || Date.now() - last.at < RECONNECT_INTERVAL_MS)) throw last.error;
    try {
      // Modules look for tokens only when initialized: after a failure, look at the slots afresh.
      if (last !== undefined) await this.#module.reinitialize(this.#module.epoch);
      const conn = await this.#module.call((lib, epoch) => this.#openSessions(lib, epoch));
      if (this.#connectFailure !== undefined) this.#o.logger?.info(`keymanager(pkcs11): ${this.token} is back`, { token: this.token });
      this.#connectFailure = undefined;
      this.#conn = conn;
      return conn;
    } catch (err) {
      const permanent = err instanceof KeyManagerError && err.code === KeyManagerErrorCode.invalid;
      const error = err instanceof KeyManagerError ? err : this.#unavailable('open sessions', err);
      this.#connectFailure = { error, at: Date.now(), permanent };
      this.#o.logger?.warn(error.message, { token: this.token });
      throw error;
    }
  }

  #openSessions(lib: Pkcs11, epoch: number): Connection {
    const slot = this.#findSlot(lib);
    const sessions: Session[] = [];
    try {
      for (let i = 0; i < this.#o.sessions; i++) {
        const handle = lib.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
        sessions.push({ handle, tail: Promise.resolve(), queued: 0 });
      }
      this.#login(lib, sessions[0]!.handle);
    } catch (err) {
      for (const s of sessions) closeQuietly(lib, s.handle);
      throw err;
    }
    return { epoch, generation: ++this.#generation, slot, sessions };
  }

  #findSlot(lib: Pkcs11): Buffer {
    const { config } = this.#o;
    const slots = lib.C_GetSlotList(true);
    if (config.slot !== undefined) {
      const slot = slots[config.slot];
      if (slot === undefined) {
        throw this.#missing(`PKCS#11 module ${config.module} has ${slots.length} slot(s) with a token, so there is no slot ${config.slot}`);
      }
      return slot;
    }
    const labels: string[] = [];
    for (const slot of slots) {
      const label = lib.C_GetTokenInfo(slot).label.trimEnd();
      if (label === config.tokenLabel) return slot;
      // SoftHSM always offers one uninitialized token, with an empty label.
      if (label !== '') labels.push(JSON.stringify(label));
    }
    const present = labels.length === 0 ? 'it has no initialized token' : `it has ${labels.join(', ')}`;
    return this.#missing(`${this.token} is not in PKCS#11 module ${config.module} (${present})`);
  }

  #missing(detail: string): never {
    throw new KeyManagerError(
      PKCS11_TYPE,
      KeyManagerErrorCode.unavailable,
      `${detail}: check that the token is present and initialized (softhsm2-util --show-slots, pkcs11-tool --list-slots), or fix tokenLabel/slot`,
    );
  }

  #login(lib: Pkcs11, session: Buffer): void {
    try {
      lib.C_Login(session, pkcs11js.CKU_USER, this.#o.pin);
    } catch (err) {
      const code = ckrCode(err);
      if (code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return;
      if (code !== undefined && PIN_FAILURES.has(code)) {
        throw new KeyManagerError(
          PKCS11_TYPE,
          KeyManagerErrorCode.invalid,
          `cannot log in to ${this.token}: ${describePkcs11Error(err)}; check the PIN in ${this.#o.pinSource} ` +
            '(a token locks itself after a few wrong PINs, so sigil does not retry)',
        );
      }
      throw err;
    }
  }

  /** Forgets `conn` (once, however many requests saw it fail) and reinitializes the module. */
  #drop(conn: Connection, err: unknown): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    this.#o.logger?.warn(`keymanager(pkcs11): ${this.token} failed (${describePkcs11Error(err)}); reopening its sessions`, {
      token: this.token,
    });
    this.#dropping = (async () => {
      await Promise.all(conn.sessions.map((s) => s.tail));
      await this.#closeSessions(conn);
      await this.#module.reinitialize(conn.epoch).catch(() => undefined);
    })();
  }

  async #closeSessions(conn: Connection): Promise<void> {
    if (conn.epoch !== this.#module.epoch) return;
    await this.#module.call((lib, epoch) => {
      if (epoch === conn.epoch) for (const s of conn.sessions) closeQuietly(lib, s.handle);
    });
  }
}

function closeQuietly(lib: Pkcs11, session: Buffer): void {
  try {
    lib.C_CloseSession(session);
  } catch {
    // The session is already gone with its token; there is nothing left to close.
  }
}

/** Runs `fn` after everything queued on `session` before it. */
function serialized<T>(session: Session, fn: () => Promise<T>): Promise<T> {
  session.queued++;
  const run = session.tail.then(fn);
  session.tail = run.catch(() => undefined);
  return run.finally(() => session.queued--);
}

function stripPrefix(message: string): string {
  return message.replace(/^keymanager\(pkcs11\): /, '');
}
