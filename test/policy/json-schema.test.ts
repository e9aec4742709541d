// policies/policy.schema.json must match the zod schema it is generated from.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { policyJsonSchema } from '../../src/policy/json-schema.ts';

describe('policy.schema.json', () => {
  it('is up to date with the zod schema (run `npm run policy:schema` after changing it)', () => {
    const committed = readFileSync(fileURLToPath(new URL('../../policies/policy.schema.json', import.meta.url)), 'utf8');
    expect(committed).toBe(policyJsonSchema());
  });

  it('describes the policy keys, forbids unknown ones and offers the provider types', () => {
    const schema = JSON.parse(policyJsonSchema()) as { properties: Record<string, unknown>; additionalProperties: boolean };
    expect(Object.keys(schema.properties)).toEqual(['version', 'settings', 'groups', 'teams', 'tiers', 'breakglass', 'resources', 'bundles']);
    expect(schema.additionalProperties).toBe(false);
    expect(policyJsonSchema()).toContain('"const": "slack_usergroup"');
  });
});
