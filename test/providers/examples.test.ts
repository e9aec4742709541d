// Every example policy under policies/examples/ is a valid policy, so copying one is a working start.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parsePolicy } from '../../src/policy/load.ts';
import { providerConfigSchema } from '../../src/providers/registry.ts';

const DIR = fileURLToPath(new URL('../../policies/examples/', import.meta.url));
const examples = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
const README = fileURLToPath(new URL('../../README.md', import.meta.url));

describe('policies/examples', () => {
  it('holds an example for every provider Sesame ships beyond the basics', () => {
    expect(examples).toEqual(expect.arrayContaining(['github-team.yaml', 'kubernetes.yaml', 'aws-identity-center.yaml', 'gcp-iam.yaml']));
  });

  it.each(examples)('%s parses as a valid policy', (file) => {
    const result = parsePolicy(readFileSync(`${DIR}${file}`, 'utf8'), file);
    expect(result.ok ? [] : result.error.map((p) => `${p.line}:${p.col} ${p.message}`)).toEqual([]);
  });

  it("README's provider blocks are valid, one for each cloud and platform provider", () => {
    const blocks = [...readFileSync(README, 'utf8').matchAll(/```yaml\n(provider:[^`]*)```/g)].map((m) => providerConfigSchema.safeParse((parse(m[1] ?? '') as { provider: unknown }).provider));
    expect(blocks.map((b) => (b.success ? b.data.type : b.error.message))).toEqual(['aws_identity_center', 'gcp_iam', 'github_team', 'kubernetes']);
  });
});
