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

export function logNack(ctx: StreamContext, detail: StatusMsg, extra: Readonly<Record<string, unknown>>): void {
  ctx.logger.warn(
    { ...ctx.fields, ...extra, code: detail.code, error: detail.message },
    'sds: Envoy rejected the secrets it was sent; they are not sent again until they change',
  );
}

/** Logs each missing name once per stream. */
export class MissingNames {
  readonly #reported = new Set<string>();
  constructor(readonly ctx: StreamContext) {}

  report(names: readonly string[]): void {
    const fresh = names.filter((n) => !this.#reported.has(n));
    if (fresh.length === 0) return;
    for (const n of fresh) this.#reported.add(n);
    this.ctx.logger.warn(
      { ...this.ctx.fields, names: fresh },
      'sds: the caller holds no secret by these names (no matching entry, or not synced yet); they are sent as soon as it does',
    );
  }

  /** A name that has been served may be reported again if it goes away later. */
  served(name: string): void {
    this.#reported.delete(name);
  }
}

/** The node a stream keeps: Envoy may send it on the first request only. */
export function keepNode(current: NodeMsg | undefined, incoming: NodeMsg | null | undefined): NodeMsg | undefined {
  return incoming ?? current;
}
