/**
 * The workload attestor seam: a way for the agent to say what a local caller is, from the process
 * the kernel names as the other end of its Workload API connection. The agent runs every configured
 * attestor for each call and combines their selectors; registration entries whose selectors are all
 * among them are what the caller gets. A new attestor (k8s, docker) is a folder beside unix/ and a
 * line in builtins.ts.
 *
 * Attestors may import only spiffe/ and this file (scripts/check-imports.mjs): the agent hands them
 * a PID and the kernel's credentials, nothing of its own.
 */
import { SigilError, Status, type StatusCode } from '../../spiffe/errors.js';

/** `{ type: 'unix', value: 'uid:1000' }`: the attestor's type, then what it found. */
export interface Selector {
  type: string;
  value: string;
}

/** What the kernel reported for the connection (SO_PEERCRED): the caller's credentials at connect(). */
export interface PeerCredentials {
  uid: number;
  gid: number;
}

export interface WorkloadAttestor {
  /** The selector type this attestor emits (`unix`), and its name in the agent's configuration. */
  readonly type: string;
  /**
   * The selectors of the process `pid`. The agent checks afterwards that `pid` still names the
   * process that connected, so an attestor may read /proc freely without guarding against reuse.
   * Throws a WorkloadAttestorError when it cannot decide (the process is gone, a file it must
   * read is unreadable); the agent logs it and goes on with the other attestors' selectors.
   */
  attest(pid: number, peer: PeerCredentials): Promise<Selector[]>;
}

export const WorkloadAttestorErrorCode = {
  /** What the attestor needs to read about the process could not be read (it exited, permissions). */
  unavailable: 'SIGIL_WORKLOADATTESTOR_UNAVAILABLE',
  /** The process is outside what the attestor is configured to look at (binary over the size limit). */
  refused: 'SIGIL_WORKLOADATTESTOR_REFUSED',
  /** What the kernel reports about the process names more than one container or pod: trust none. */
  ambiguous: 'SIGIL_WORKLOADATTESTOR_AMBIGUOUS',
  /** The process's container was not found where the attestor looks for it within its wait (kubelet lag). */
  notFound: 'SIGIL_WORKLOADATTESTOR_NOT_FOUND',
} as const;

export type WorkloadAttestorErrorCode = (typeof WorkloadAttestorErrorCode)[keyof typeof WorkloadAttestorErrorCode];

const STATUS: Readonly<Record<WorkloadAttestorErrorCode, StatusCode>> = {
  SIGIL_WORKLOADATTESTOR_UNAVAILABLE: Status.UNAVAILABLE,
  SIGIL_WORKLOADATTESTOR_REFUSED: Status.PERMISSION_DENIED,
  SIGIL_WORKLOADATTESTOR_AMBIGUOUS: Status.FAILED_PRECONDITION,
  SIGIL_WORKLOADATTESTOR_NOT_FOUND: Status.DEADLINE_EXCEEDED,
};

/** Messages read `workloadattestor(<type>): <what went wrong>`, as SPIRE's plugin facade prefixes them. */
export class WorkloadAttestorError extends SigilError {
  declare readonly code: WorkloadAttestorErrorCode;

  constructor(attestorType: string, code: WorkloadAttestorErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, `workloadattestor(${attestorType}): ${message}`, { status: STATUS[code], cause: options.cause });
  }
}
