/**
 * The value types config keys share, as zod schemas whose failures carry finished messages
 * (issues.ts only adds the key). Each one parses what a YAML file or a flag gives: a flag is
 * always a string, so numbers are accepted as strings too where a number makes sense.
 */
import { z } from 'zod';
import { messageOf } from '../../spiffe/errors.js';
import { TrustDomain } from '../../spiffe/spiffeid/index.js';
import { KEY_LABEL_PREFIX } from '../keymanager/pkcs11/config.js';
import { parseDuration } from './duration.js';

type Ctx = z.core.$RefinementCtx<unknown>;

function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: 'custom', message });
  return z.NEVER;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

export const trustDomain = z.string().transform((s, ctx): TrustDomain => {
  try {
    return TrustDomain.fromString(s);
  } catch (err) {
    return fail(ctx, `${show(s)}: ${messageOf(err)}`);
  }
});

/** A whole number of seconds above 0. */
export const duration = z.unknown().transform((v, ctx): number => {
  const r = parseDuration(v);
  return typeof r === 'number' ? r : fail(ctx, r.problem);
});

export interface HostPort {
  /** A hostname or IP address, without IPv6 brackets. */
  host: string;
  /** 0 asks the OS for a free port. */
  port: number;
}

const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

export const hostPort = z.string().transform((s, ctx): HostPort => {
  const m = HOST_PORT.exec(s);
  const port = Number(m?.[3]);
  if (!m || port > 65_535) {
    return fail(ctx, `${show(s)} is not HOST:PORT with a port from 0 to 65535 (e.g. 0.0.0.0:8081, [::]:8081, 127.0.0.1:0)`);
  }
  return { host: m[1] ?? m[2]!, port };
});

/** `[::1]:8081`, `0.0.0.0:8081`: the inverse of hostPort, for messages. */
export function formatHostPort({ host, port }: HostPort): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const path = z.string().refine((s) => s.trim() !== '', 'must not be empty');

const DATASTORE_SCHEMES = ['sqlite', 'postgres', 'postgresql'];

/** Checked here only as far as naming the key needs: openDatastore does the rest at start. */
export const datastoreUrl = z.string().transform((s, ctx): string => {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(s)?.[1]?.toLowerCase();
  if (scheme !== undefined && DATASTORE_SCHEMES.includes(scheme)) return s;
  // Only the scheme is repeated: the rest of a URL may hold a password.
  const what = scheme === undefined ? 'has no scheme' : `has the unsupported scheme "${scheme}:"`;
  return fail(ctx, `the URL ${what}: use sqlite:PATH, postgres://… or postgresql://…`);
});

/** One of `values`, compared without case (SPIRE's configs say INFO, DEBUG). */
export function oneOf<const T extends string>(values: readonly T[]) {
  return z.string().transform((s, ctx): T => {
    const found = values.find((v) => v === s.toLowerCase());
    return found ?? fail(ctx, `${show(s)} is not one of ${values.join(', ')}`);
  });
}

const DNS_NAME = /^(?:\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const dnsName = z.string().refine((s) => s.length <= 253 && DNS_NAME.test(s), {
  error: (issue) => `${show(issue.input)} is not a DNS name`,
});

/** RFC 5280's bounds for the subject attributes sigil lets operators set (profile.ts checks them again). */
export const country = z.string().refine((s) => /^[A-Z]{2}$/.test(s), {
  error: (issue) => `${show(issue.input)} is not a two-letter ISO 3166 country code in capitals (e.g. US)`,
});
export const nameAttribute = z.string().refine((s) => s.length > 0 && [...s].length <= 64, 'must be 1 to 64 characters');

/** A whole number from `min` to `max`; a flag's or a quoted YAML value's digits count too. */
export function wholeNumber(min: number, max: number) {
  return z.unknown().transform((v, ctx): number => {
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
    return fail(ctx, `${show(v)} is not a whole number from ${min} to ${max}`);
  });
}

/** An environment variable's name (POSIX portable: letters, digits, underscores, not starting with a digit). */
export const envName = z.string().refine((s) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s), {
  error: (issue) => `${show(issue.input)} is not an environment variable name (letters, digits and _, not starting with a digit)`,
});

/** What the pkcs11 key manager puts before `-<key id>` in key labels. */
export const labelPrefix = z.string().refine((s) => KEY_LABEL_PREFIX.test(s), {
  error: (issue) => `${show(issue.input)} is not a key label prefix: use 1 to 32 characters of [A-Za-z0-9._-], starting with a letter or digit`,
});
