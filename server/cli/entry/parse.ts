/**
 * Flag values as operators type them. Only the form is checked here (a selector has a colon, a TTL
 * is a number); whether the value is acceptable is the server's call, so the API and the CLI
 * reject the same entries with the same messages.
 */
import type { SelectorMsg } from '../../api/admin/messages.js';
import { CliError } from '../output.js';

/** `type:value`, split at the first colon: `unix:uid:1000` is type unix, value uid:1000. */
export function parseSelector(text: string, flag = '--selector'): SelectorMsg {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) {
    throw new CliError(`${flag} ${JSON.stringify(text)} is not type:value`, 'Write selectors as type:value, e.g. --selector unix:uid:1000.');
  }
  return { type: text.slice(0, colon), value: text.slice(colon + 1) };
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** Whole seconds, or a number with a unit: `3600`, `90s`, `30m`, `4h`, `1d`. */
export function parseSeconds(text: string, flag: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim());
  const n = m ? Number(m[1]) * UNIT_SECONDS[m[2] || 's']! : NaN;
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
    throw new CliError(`${flag} ${JSON.stringify(text)} is not a duration`, `Give whole seconds (${flag} 3600) or a number with s, m, h or d (${flag} 1h).`);
  }
  return n;
}

/** Unix seconds or an RFC 3339 time; `0` or `never` mean no expiry (0). */
export function parseTime(text: string, flag: string): number {
  const t = text.trim();
  if (t === 'never' || t === '0') return 0;
  if (/^\d+$/.test(t)) return Number(t);
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(t) ? Date.parse(t) : NaN;
  if (Number.isNaN(ms)) {
    throw new CliError(`${flag} ${JSON.stringify(text)} is not a time`, `Give unix seconds (${flag} 1767225600) or RFC 3339 (${flag} 2026-01-01T00:00:00Z).`);
  }
  return Math.floor(ms / 1000);
}

/** A flag that is true when given alone, or explicitly `true`/`false`. */
export function parseBool(value: string | boolean | undefined, flag: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new CliError(`${flag} ${JSON.stringify(value)} is not true or false`);
}
