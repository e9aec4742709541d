// The reference in docs/ covers what the code has: every command, audit action, metric and provider is written up.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.ts';
import { createMetrics } from '../src/metrics.ts';
import { providerConfigSchema } from '../src/providers/registry.ts';
import { webhookPayloadSchema } from '../src/providers/webhook.ts';
import { AUDIT_ACTIONS } from '../src/store/audit.ts';

const doc = (name: string): string => readFileSync(fileURLToPath(new URL(`../docs/${name}`, import.meta.url)), 'utf8');

describe('reference documentation', () => {
  it('gives every sesame command a section in docs/commands.md', () => {
    const headings = doc('commands.md').split('\n').filter((l) => l.startsWith('### '));
    const missing = COMMANDS.map((c) => c.name).filter((name) => !headings.some((h) => h.includes(`\`sesame ${name}`)));
    expect(missing).toEqual([]);
  });

  it('lists every audit action in docs/audit.md', () => {
    const audit = doc('audit.md');
    expect(AUDIT_ACTIONS.filter((action) => !audit.includes(`\`${action}\``))).toEqual([]);
  });

  it('names every metric in docs/operating.md', async () => {
    const names = (await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names.length).toBeGreaterThan(0);
    const operating = doc('operating.md');
    expect(names.filter((name) => !operating.includes(`\`${name}`))).toEqual([]);
  });

  it('describes every provider type in docs/providers.md and docs/policy.md', () => {
    const types = providerConfigSchema.options.map((o) => o.shape.type.value).filter((type) => type !== 'noop');
    expect(types.length).toBeGreaterThan(0);
    const providers = doc('providers.md');
    const policy = doc('policy.md');
    expect(types.filter((type) => !new RegExp(`^## \`?${type}\`?`, 'm').test(providers))).toEqual([]);
    expect(types.filter((type) => !policy.includes(`\`${type}\``))).toEqual([]);
  });

  it("shows the webhook's whole payload in docs/providers.md, exactly as Sesame sends it", () => {
    const section = doc('providers.md').split(/^## /m).find((s) => s.startsWith('`webhook`')) ?? '';
    const example = /```json\n([^`]+)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    // Strict: a field the docs leave out, or one Sesame no longer sends, fails here.
    expect(webhookPayloadSchema.safeParse(JSON.parse(example ?? 'null')).error?.issues ?? []).toEqual([]);
  });

  it('shows a screenshot of the playground in the README', () => {
    const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
    const image = /!\[[^\]]+\]\((docs\/[\w-]+\.png)\)/.exec(readme.slice(readme.indexOf('## The playground')))?.[1];
    expect(image).toBeDefined();
    const png = readFileSync(fileURLToPath(new URL(`../${image ?? ''}`, import.meta.url)));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  });
});
