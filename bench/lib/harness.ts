/**
 * A tiny benchmark harness: every case is measured beside a baseline in the same process and run,
 * and reported as a ratio to it, so the numbers mean something on any machine (style anchor 11).
 */
import { performance } from 'node:perf_hooks';

export interface Measurement {
  name: string;
  /** Operations per second, median of the samples. */
  opsPerSec: number;
  /** Half the spread between the slowest and fastest sample, as a fraction of the median. */
  spread: number;
  samples: number;
}

export interface MeasureOptions {
  /** Wall time per sample. */
  sampleMs?: number;
  samples?: number;
  /** Operations per call of fn (for batched work). */
  opsPerCall?: number;
}

/** Measures fn (sync or async) in timed samples after a warm-up; returns the median rate. */
export async function measure(
  name: string,
  fn: () => unknown,
  { sampleMs = 300, samples = 7, opsPerCall = 1 }: MeasureOptions = {},
): Promise<Measurement> {
  await runFor(fn, sampleMs);
  const rates: number[] = [];
  for (let s = 0; s < samples; s++) {
    const { calls, elapsedMs } = await runFor(fn, sampleMs);
    rates.push((calls * opsPerCall * 1000) / elapsedMs);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  const spread = median > 0 ? ((rates[rates.length - 1] ?? 0) - (rates[0] ?? 0)) / 2 / median : 0;
  return { name, opsPerSec: median, spread, samples };
}

async function runFor(fn: () => unknown, ms: number): Promise<{ calls: number; elapsedMs: number }> {
  const start = performance.now();
  let calls = 0;
  let now = start;
  while (now - start < ms) {
    const r = fn();
    if (r instanceof Promise) await r;
    calls++;
    if ((calls & 15) === 0 || r instanceof Promise) now = performance.now();
  }
  return { calls, elapsedMs: performance.now() - start };
}

/** Prints a table: value, ± spread, and × baseline (the first row is the baseline). */
export function report(title: string, baseline: Measurement, cases: Measurement[]): void {
  const rows = [baseline, ...cases];
  const width = Math.max(...rows.map((r) => r.name.length), 8);
  const lines = [`\n${title}`, `  ${'case'.padEnd(width)}  ${'ops/s'.padStart(12)}  ${'±'.padStart(6)}  × baseline`];
  for (const r of rows) {
    const ratio = r === baseline ? '1.00 (baseline)' : (r.opsPerSec / baseline.opsPerSec).toFixed(3);
    lines.push(
      `  ${r.name.padEnd(width)}  ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)}  ${(r.spread * 100).toFixed(1).padStart(5)}%  ${ratio}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
}
