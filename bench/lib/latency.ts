/**
 * Latency percentiles for benchmarks that measure how long one thing takes (a first response under
 * load) rather than how many fit in a second, reported beside a baseline from the same run as a
 * ratio, the way harness.ts reports rates.
 */

export interface LatencySummary {
  name: string;
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? NaN;
}

export function summarize(name: string, samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    name,
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

export interface LatencyRow {
  baseline: LatencySummary;
  measured: LatencySummary;
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(2) : '-').padStart(9);
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-').padStart(6);

/** One block per row: baseline line, measured line with p50 and p99 as multiples of the baseline's. */
export function reportLatency(title: string, rows: readonly LatencyRow[], notes: readonly string[] = []): void {
  const width = Math.max(8, ...rows.flatMap((r) => [r.baseline.name.length, r.measured.name.length]));
  const lines = [
    `\n${title}`,
    `  ${'case'.padEnd(width)}  ${'n'.padStart(6)}  ${'p50 ms'.padStart(9)}  ${'p90 ms'.padStart(9)}  ${'p99 ms'.padStart(9)}  ${'max ms'.padStart(9)}  p50× p99× baseline`,
  ];
  for (const { baseline: b, measured: m } of rows) {
    lines.push(`  ${b.name.padEnd(width)}  ${String(b.count).padStart(6)}  ${ms(b.p50)}  ${ms(b.p90)}  ${ms(b.p99)}  ${ms(b.max)}  (baseline)`);
    lines.push(
      `  ${m.name.padEnd(width)}  ${String(m.count).padStart(6)}  ${ms(m.p50)}  ${ms(m.p90)}  ${ms(m.p99)}  ${ms(m.max)}  ${ratio(m.p50, b.p50)} ${ratio(m.p99, b.p99)}`,
    );
  }
  for (const n of notes) lines.push(`  ${n}`);
  process.stdout.write(lines.join('\n') + '\n');
}
