/**
 * What both xDS variants share: the checks on a request's type URL, nonces, the node a stream keeps,
 * and the log lines an operator reads when Envoy rejects secrets or asks for names it cannot have.
 */
import { status } from '@grpc/grpc-js';
import { randomBytes } from 'node:crypto';
import type { WorkloadApiLogger } from '../workloadapi/logger.js';
import { RpcError } from '../workloadapi/status.js';
import { SECRET_TYPE_URL, type NodeMsg, type StatusMsg } from './messages.js';
import type { SdsSettings } from './settings.js';

/** Shown in Envoy's stats and logs as the control plane of these secrets. */
export const CONTROL_PLANE = { identifier: 'sigil-agent' } as const;

export interface StreamContext {
  settings: SdsSettings;
  logger: WorkloadApiLogger;
  /** Fields naming the stream in every log line (method, caller's connection). */
  fields: Readonly<Record<string, unknown>>;
  /** A nonce unique on the stream; tests make it predictable. */
  nonce?: () => string;
}

/** 8 random bytes in hex: unique per response on a stream, meaningless anywhere else. */
export const randomNonce = (): string => randomBytes(8).toString('hex');

/** Envoy always sends the Secret type URL; an empty one is taken to mean it (the only type served). */
export function checkTypeUrl(typeUrl: string): void {
  if (typeUrl !== '' && typeUrl !== SECRET_TYPE_URL) {
    throw new RpcError(status.INVALID_ARGUMENT, `type_url ${JSON.stringify(typeUrl)} is not served here: this service serves only ${SECRET_TYPE_URL}`);
  }
}

/** Present error_detail means a NACK: Envoy could not apply what it was sent. */
export function isNack(errorDetail: StatusMsg | null | undefined): errorDetail is StatusMsg {
  return errorDetail !== null && errorDetail !== undefined;
}

/**
 * Logs a NACK's error_detail once per response rejected: Envoy NACKs a response once, and a client
 * repeating its NACK of one nonce must not flood the agent's log.
 */
export class NackLog {
  #lastNonce: string | undefined;
  constructor(readonly ctx: StreamContext) {}

  note(detail: StatusMsg | null | undefined, nonce: string, extra: Readonly<Record<string, unknown>> = {}): void {
    if (!isNack(detail) || nonce === this.#lastNonce) return;
    this.#lastNonce = nonce;
    this.ctx.logger.warn(
      { ...this.ctx.fields, nonce, ...extra, code: detail.code, error: detail.message },
      'sds: Envoy rejected the secrets it was sent; they are not sent again until they change',
    );
  }
}

/**
 * Logs each missing name once while it stays missing. Only the names missing now are remembered,
 * so a client cycling through names it cannot have does not grow the stream's memory.
 */
export class MissingNames {
  #reported = new Set<string>();
  constructor(readonly ctx: StreamContext) {}

  /** `names`: every name of the subscription that is missing now. */
  report(names: readonly string[]): void {
    const fresh = names.filter((n) => !this.#reported.has(n));
    this.#reported = new Set(names);
    if (fresh.length === 0) return;
    this.ctx.logger.warn(
      { ...this.ctx.fields, names: fresh },
      'sds: the caller holds no secret by these names (no matching entry, or not synced yet); they are sent as soon as it does',
    );
  }
}

/**
 * Names one stream or fetch may ask for. Envoy asks for one per stream; the cap keeps a client
 * from making the agent hold and resolve an unbounded set (Delta subscriptions accumulate).
 */
export const MAX_NAMES = 1024;

export function checkNameCount(count: number): void {
  if (count > MAX_NAMES) {
    throw new RpcError(status.RESOURCE_EXHAUSTED, `${count} resource names asked for; at most ${MAX_NAMES} are served per stream or fetch (Envoy asks for one per stream)`);
  }
}

/** A state-of-the-world request's resource_names (stream or fetch): empty names dropped, each name once. */
export function requestedNames(resourceNames: readonly string[]): string[] {
  const names = [...new Set(resourceNames.filter((n) => n !== ''))];
  checkNameCount(names.length);
  return names;
}

/** The node a stream keeps: Envoy may send it on the first request only. */
export function keepNode(current: NodeMsg | undefined, incoming: NodeMsg | null | undefined): NodeMsg | undefined {
  return incoming ?? current;
}
