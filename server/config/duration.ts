/**
 * Durations in config: `90s`, `5m`, `1h`, `24h`, `7d`, combinations such as `1h30m`, or a plain
 * number of seconds (`3600` or "3600"). Whole seconds only: every TTL sigil sets is in seconds.
 */
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };
const DURATION = /^(?:\d+[smhd])+$/;
const PART = /(\d+)([smhd])/g;

export const DURATION_HINT = 'use e.g. 90s, 5m, 1h, 24h, 1h30m or a whole number of seconds';

/** The number of seconds `value` means, or a problem (without the key) when it is not a duration above 0. */
export function parseDuration(value: unknown): number | { problem: string } {
  let seconds: number;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return { problem: `${value} is not a whole number of seconds: ${DURATION_HINT}` };
    seconds = value;
  } else if (typeof value === 'string' && /^\d+$/.test(value.trim())) {
    seconds = Number(value.trim());
  } else if (typeof value === 'string' && DURATION.test(value.trim())) {
    seconds = 0;
    for (const [, n, unit] of value.trim().matchAll(PART)) seconds += Number(n) * UNIT_SECONDS[unit!]!;
  } else {
    return { problem: `${JSON.stringify(value)} is not a duration: ${DURATION_HINT}` };
  }
  if (!Number.isSafeInteger(seconds) || seconds < 1) {
    return { problem: `${JSON.stringify(value)} must be at least 1 second` };
  }
  return seconds;
}

/** `86400` → `24h`, `90` → `1m30s`: how defaults are shown in help and docs. */
export function formatDuration(seconds: number): string {
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out === '' ? '0s' : out;
}
