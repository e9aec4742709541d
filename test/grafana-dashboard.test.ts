// deploy/grafana/sesame.json queries only metrics Sesame exports (read from its registry), and shows every one of them.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../src/metrics.ts';

const dashboard = JSON.parse(readFileSync(new URL('../deploy/grafana/sesame.json', import.meta.url), 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/** The metric names a PromQL expression selects: identifiers that are not functions, keywords, labels or strings. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges, $__rate_interval
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // grouping labels
  return [...bare.matchAll(/(?<![\w$])([a-zA-Z_:][\w:]*)(\s*\()?/g)].filter((m) => m[2] === undefined && !KEYWORDS.has((m[1] as string).toLowerCase())).map((m) => m[1] as string);
}

/** The series names Prometheus stores for what the registry exports: a histogram is _bucket, _sum and _count. */
async function exportedSeries(): Promise<Map<string, string>> {
  const series = new Map<string, string>();
  for (const metric of await createMetrics().registry.getMetricsAsJSON()) {
    const names = String(metric.type) === 'histogram' ? ['_bucket', '_sum', '_count'].map((s) => metric.name + s) : [metric.name];
    for (const name of names) series.set(name, metric.name);
  }
  return series;
}

describe('the Grafana dashboard', () => {
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ panel: p.title, expr: t.expr })));

  it('reads the metric names out of PromQL, so a typo would be caught', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le) (rate(sesame_time_to_grant_seconds_bucket[5m])))')).toEqual(['sesame_time_to_grant_seconds_bucket']);
    expect(metricNames('sum(increase(sesame_reqests_total{outcome="refused", tier=~"a|b"}[1h])) / sesame_active_grants offset 1h')).toEqual(['sesame_reqests_total', 'sesame_active_grants']);
  });

  it('queries only metrics Sesame exports', async () => {
    const series = await exportedSeries();
    expect(exprs.length).toBeGreaterThan(0);
    for (const { panel, expr } of exprs) {
      const names = metricNames(expr);
      expect(names.length, `panel "${panel}" queries no metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(series.has(name), `panel "${panel}" queries ${name}, which Sesame does not export`).toBe(true);
    }
  });

  it('shows every metric Sesame exports', async () => {
    const series = await exportedSeries();
    const shown = new Set(exprs.flatMap(({ expr }) => metricNames(expr)).map((name) => series.get(name)));
    expect([...new Set(series.values())].filter((m) => !shown.has(m))).toEqual([]);
  });
});
