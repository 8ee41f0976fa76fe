/**
 * The value types agent config keys use, as zod schemas whose failures carry finished messages
 * (issues.ts adds the key). A flag is always a string, so booleans accept "true"/"false" too.
 */
import { z } from 'zod';
import { messageOf } from '../../spiffe/errors.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';

type Ctx = z.core.$RefinementCtx<unknown>;

function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

export const WORKLOAD_KEY_TYPES = ['ec-p256', 'ec-p384', 'rsa-2048'] as const;

export type WorkloadKeyType = (typeof WORKLOAD_KEY_TYPES)[number];

export const trustDomain = z.string().transform((s, ctx): TrustDomain => {
  try {
    return TrustDomain.fromString(s);
  } catch (err) {
    return fail(ctx, `${show(s)}: ${messageOf(err)}`);
  }
});

export interface HostPort {
  /** A hostname or IP address, without IPv6 brackets. */
  host: string;
  port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

/** The server's address: unlike a listener's, port 0 means nothing here. */
export const hostPort = z.string().transform((s, ctx): HostPort => {
  const m = HOST_PORT.exec(s);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65_535) {
    return fail(ctx, `${show(s)} is not HOST:PORT with a port from 1 to 65535 (e.g. sigil-server.example.org:8081, 10.0.0.5:8081, [::1]:8081)`);
  }
  return { host: m[1] ?? m[2]!, port };
});

/** `[::1]:8081`, `10.0.0.5:8081`: the inverse of hostPort, for messages and gRPC targets. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const path = z.string().refine((s) => s.trim() !== '', 'must not be empty');

/** A secret: checked for presence only, and never repeated in a message. */
export const secret = z.string().refine((s) => s.trim() !== '', 'must not be empty');

export const flag = z.union([z.boolean(), z.string()]).transform((v, ctx): boolean => {
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fail(ctx, `${show(v)} is not true or false`);
});

export const integer = z.union([z.number(), z.string()]).transform((v, ctx): number => {
  const n = typeof v === 'number' ? v : /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!Number.isSafeInteger(n)) return fail(ctx, `${show(v)} is not a whole number`);
  return n;
});

/** One of `values`, compared without case (SPIRE's configs say INFO, DEBUG). */
export function oneOf<const T extends string>(values: readonly T[]) {
  return z.string().transform((s, ctx): T => {
    const found = values.find((v) => v === s.toLowerCase());
    return found ?? fail(ctx, `${show(s)} is not one of ${values.join(', ')}`);
  });
}
