/**
 * A file read again when it changes: Kubernetes rotates projected service-account tokens (about
 * hourly) and certificates in place, and the agent must pick the new ones up without a restart.
 * A stat per use is what that costs; the kubelet client uses it once per /pods fetch, not per caller.
 */
import { readFileSync, statSync } from 'node:fs';
import { messageOf } from '../../../spiffe/errors.js';
import { K8S } from '../builtins.js';
import { WorkloadAttestorError, WorkloadAttestorErrorCode } from '../workload-attestor.js';

export class WatchedFile {
  #stamp = '';
  #content: Buffer | undefined;
  #version = 0;

  constructor(
    readonly path: string,
    /** What the file is, for messages: `the kubelet token file (--kubelet-token-file)`. */
    readonly what: string,
  ) {}

  /** Bumped each time the content is read anew: a change of TLS material rebuilds the connection pool. */
  get version(): number {
    return this.#version;
  }

  read(): Buffer {
    let stamp: string;
    try {
      const st = statSync(this.path);
      stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    } catch (err) {
      throw this.#error(err);
    }
    if (this.#content !== undefined && stamp === this.#stamp) return this.#content;
    try {
      this.#content = readFileSync(this.path);
    } catch (err) {
      throw this.#error(err);
    }
    this.#stamp = stamp;
    this.#version++;
    return this.#content;
  }

  #error(err: unknown): WorkloadAttestorError {
    return new WorkloadAttestorError(K8S, WorkloadAttestorErrorCode.unavailable, `cannot read ${this.what} ${this.path}: ${messageOf(err)}`, { cause: err });
  }
}
