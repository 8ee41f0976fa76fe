/**
 * One loaded PKCS#11 library per path for the whole process. A library is initialized once per
 * process (a second C_Initialize fails), so every key manager on the same module shares it, and the
 * last to leave finalizes it. C_Initialize gets CKF_OS_LOCKING_OK: pkcs11js runs C_Sign and
 * C_GenerateKeyPair on libuv's worker threads, and without the library's own locking two sessions
 * signing at once corrupt SoftHSM's heap (platform-notes §A.3, pitfall 4).
 *
 * reinitialize() is how a key manager gets back a token that went away: SoftHSM (and other
 * modules) only look for tokens in C_Initialize. It waits for every call in flight, since
 * finalizing under a running C_Sign would free what that thread is using.
 */
import pkcs11js from 'pkcs11js';
import { messageOf } from '../../../spiffe/errors.js';
import { KeyManagerError, KeyManagerErrorCode } from '../errors.js';
import { ckrCode } from './errors.js';

export type Pkcs11 = pkcs11js.PKCS11;

export const PKCS11_TYPE = 'pkcs11';

const modules = new Map<string, SharedModule>();

export class SharedModule {
  readonly path: string;
  readonly #lib: Pkcs11;
  #users = 0;
  /** Bumped by every C_Initialize: sessions and object handles from an older epoch are gone. */
  #epoch = 0;
  #inFlight = 0;
  #drained: (() => void)[] = [];
  #reinitializing: Promise<void> | undefined;

  private constructor(path: string, lib: Pkcs11) {
    this.path = path;
    this.#lib = lib;
  }

  /** The library at `path`, loaded and initialized on first use; pair with release(). */
  static acquire(path: string): SharedModule {
    let m = modules.get(path);
    if (m === undefined) {
      const lib = new pkcs11js.PKCS11();
      try {
        lib.load(path);
      } catch (err) {
        throw new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.invalid, `cannot load the PKCS#11 module ${path}: ${messageOf(err)}`, {
          cause: err,
        });
      }
      m = new SharedModule(path, lib);
      try {
        m.#initialize();
      } catch (err) {
        lib.close();
        throw new KeyManagerError(PKCS11_TYPE, KeyManagerErrorCode.unavailable, `cannot initialize the PKCS#11 module ${path}: ${messageOf(err)}`, {
          cause: err,
        });
      }
      modules.set(path, m);
    }
    m.#users++;
    return m;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Runs `fn` against the library, after any reinitialization under way; reinitialization waits for it. */
  async call<T>(fn: (lib: Pkcs11, epoch: number) => T | Promise<T>): Promise<T> {
    while (this.#reinitializing !== undefined) await this.#reinitializing;
    this.#inFlight++;
    try {
      return await fn(this.#lib, this.#epoch);
    } finally {
      if (--this.#inFlight === 0) for (const wake of this.#drained.splice(0)) wake();
    }
  }

  /**
   * Finalizes and initializes the library again, unless that already happened since `seenEpoch`
   * (several sessions failing at once reinitialize it once). Never call it from inside call().
   */
  reinitialize(seenEpoch: number): Promise<void> {
    if (this.#epoch !== seenEpoch) return Promise.resolve();
    if (this.#reinitializing !== undefined) return this.#reinitializing;
    const done = this.#reinitialize();
    this.#reinitializing = done;
    // Cleared in a later microtask, never before it was set, even when nothing was in flight.
    const clear = (): void => {
      if (this.#reinitializing === done) this.#reinitializing = undefined;
    };
    done.then(clear, clear);
    return done;
  }

  async #reinitialize(): Promise<void> {
    if (this.#inFlight > 0) await new Promise<void>((wake) => this.#drained.push(wake));
    try {
      this.#lib.C_Finalize();
    } catch {
      // A library that lost its token may refuse to finalize; initializing again is what matters.
    }
    this.#initialize();
  }

  /** Gives the library back; the last user finalizes and unloads it. */
  release(): void {
    if (--this.#users > 0) return;
    modules.delete(this.path);
    try {
      this.#lib.C_Finalize();
    } catch (err) {
      // A failed reinitialization left it finalized already: nothing more to undo.
      if (ckrCode(err) !== pkcs11js.CKR_CRYPTOKI_NOT_INITIALIZED) throw err;
    } finally {
      this.#lib.close();
    }
  }

  #initialize(): void {
    this.#lib.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    this.#epoch++;
  }
}
