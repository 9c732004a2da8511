// Benchmark helpers: order statistics over samples and the number formats of the report.
// Measures nothing itself. Percentiles use the nearest-rank method (p99 of 30 samples is the
// largest one), so every figure printed is a value that was actually observed.

/** The nearest-rank `p`-th percentile (0 < p <= 100) of `samples`; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

export interface Summary {
  n: number;
  min: number;
  median: number;
  p99: number;
  max: number;
}

export function summarize(samples: readonly number[]): Summary {
  return {
    n: samples.length,
    min: samples.length ? Math.min(...samples) : NaN,
    median: median(samples),
    p99: percentile(samples, 99),
    max: samples.length ? Math.max(...samples) : NaN,
  };
}

/** 1234567 -> "1,234,567". */
export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n);
}

/** Fixed decimals, or "-" for NaN. */
export function fixed(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

export function mib(bytes: number): string {
  return `${fixed(bytes / 1024 / 1024, 1)} MiB`;
}

/** Milliseconds with two decimals ("3.41 ms"), or "-". */
export function ms(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(2)} ms` : '-';
}

/** Pads every column of `rows` to its widest cell; the first column left-aligned, the rest right. */
export function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}
