// Percentiles, timing and the results table of `npm run bench`.
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};

export interface Row {
  figure: string;
  value: number;
  unit: string;
  /** An absolute limit, a multiple of the reference, or none (a figure shown for information). */
  budget: { max: number } | { min: number } | { ratioMax: number } | { info: true };
  reference?: { name: string; value: number };
}

export const passes = (row: Row): boolean => {
  if ('info' in row.budget) return true;
  if ('max' in row.budget) return row.value <= row.budget.max;
  if ('min' in row.budget) return row.value >= row.budget.min;
  return row.reference !== undefined && row.value <= row.budget.ratioMax * Math.max(row.reference.value, 1e-9);
};

const fmt = (n: number, unit: string) => `${n >= 100 ? n.toFixed(0) : n.toFixed(1)} ${unit}`;

export function table(rows: readonly Row[]): string {
  const cells = rows.map((r) => {
    const budget = 'info' in r.budget ? '—' : 'max' in r.budget ? `≤ ${fmt(r.budget.max, r.unit)}` : 'min' in r.budget ? `≥ ${fmt(r.budget.min, r.unit)}` : `≤ ${r.budget.ratioMax}× reference`;
    const ratio = r.reference ? `${(r.value / Math.max(r.reference.value, 1e-9)).toFixed(2)}×` : '';
    return [r.figure, fmt(r.value, r.unit), budget, r.reference ? `${r.reference.name}: ${fmt(r.reference.value, r.unit)}` : '—', ratio || '—', 'info' in r.budget ? 'info' : passes(r) ? 'pass' : 'FAIL'];
  });
  const header = ['figure', 'measured', 'budget', 'reference (same run)', 'ratio', 'result'];
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]) => `| ${c.map((x, i) => x.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const progress = (text: string) => process.stderr.write(`[bench] ${text}\n`);

/**
 * A person of its own for the i-th lifecycle or expiry of a series. One person's grants of one role share one access
 * at the provider, and only the last of them to end revokes it; with a person each, every grant and every revoke calls
 * the provider, as a herd of different people's grants does.
 */
export const benchUser = (series: string, i: number): string => `U0BENCH${series}${String(i).padStart(5, '0')}`;
