// `sesame report` as a table for a terminal, Markdown for a wiki or ticket, or JSON for anything else.
import { formatDuration } from '../policy/duration.ts';
import type { Figures, Report, Stat } from './figures.ts';

const percent = (share: number | null): string => (share === null ? '–' : `${(share * 100).toFixed(1)}%`);
/** Milliseconds as a duration people read; under a second as ms. */
const ms = (value: number | null): string => (value === null ? '–' : value < 1000 ? `${value}ms` : formatDuration(Math.round(value / 1000) * 1000));
const meanP95 = (s: Stat): [string, string] => [ms(s.meanMs), ms(s.p95Ms)];
const refusalCount = (f: Figures): number => Object.values(f.refusals).reduce((sum, n) => sum + n, 0);

const HEADER = ['scope', 'requests', 'grant mean', 'grant p95', 'revoke late mean', 'revoke late p95', 'no human', 'audit complete', 'refused', 'break-glass (reviewed)'];

function rows(report: Report): string[][] {
  const row = (scope: string, f: Figures): string[] => [
    scope,
    String(f.requests),
    ...meanP95(f.timeToGrant),
    ...meanP95(f.lateness),
    percent(f.withoutHuman),
    percent(f.auditComplete),
    String(refusalCount(f)),
    `${f.breakglass.uses} (${f.breakglass.reviewed})`,
  ];
  return [
    row('overall', report.overall),
    ...Object.entries(report.tiers).map(([name, f]) => row(`tier ${name}`, f)),
    ...Object.entries(report.resources).map(([name, f]) => row(`resource ${name}`, f)),
  ];
}

function refusalLines(report: Report): string[] {
  const codes = Object.entries(report.overall.refusals);
  return codes.length === 0 ? ['no refusals'] : codes.map(([code, n]) => `${code}: ${n}`);
}

const period = (report: Report) => `Sesame report, ${report.since} to ${report.until}`;
const glassLine = (report: Report) => {
  const g = report.overall.breakglass;
  return `break-glass: ${g.uses} used, ${g.reviewed} reviewed, ${g.awaitingReview} awaiting review`;
};

export function formatTable(report: Report): string {
  const all = [HEADER, ...rows(report)];
  const widths = HEADER.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const text = (r: string[]) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  return [period(report), '', text(HEADER), ...rows(report).map(text), '', 'refusals by code:', ...refusalLines(report).map((l) => `  ${l}`), glassLine(report), ''].join('\n');
}

export function formatMarkdown(report: Report): string {
  const text = (r: string[]) => `| ${r.join(' | ')} |`;
  return [
    `## ${period(report)}`,
    '',
    text(HEADER),
    text(HEADER.map((_, i) => (i === 0 ? '---' : '---:'))),
    ...rows(report).map(text),
    '',
    '### Refusals by code',
    '',
    ...refusalLines(report).map((l) => `- ${l}`),
    '',
    glassLine(report),
    '',
  ].join('\n');
}

export const formatJson = (report: Report): string => `${JSON.stringify(report, null, 2)}\n`;
