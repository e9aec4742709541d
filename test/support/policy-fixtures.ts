// Policies for tests: the shipped example, and a builder that applies overrides to it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { parsePolicy, type LoadedPolicy } from '../../src/policy/load.ts';
import type { PolicyInput } from '../../src/policy/schema.ts';

export const EXAMPLE_POLICY_PATH = fileURLToPath(new URL('../../policies/examples/full-policy.yaml', import.meta.url));
export const examplePolicyText = (): string => readFileSync(EXAMPLE_POLICY_PATH, 'utf8');
export const examplePolicyInput = (): PolicyInput => parse(examplePolicyText()) as PolicyInput;

type DeepPartial<T> = { [K in keyof T]?: NonNullable<T[K]> extends object ? DeepPartial<NonNullable<T[K]>> | T[K] : T[K] };

/** The example policy with `changes` merged in (objects merge, everything else replaces; `undefined` deletes). */
export function aPolicyInput(changes: DeepPartial<PolicyInput> = {}): PolicyInput {
  return merge(examplePolicyInput(), changes) as PolicyInput;
}

export function aLoadedPolicy(changes: DeepPartial<PolicyInput> = {}): LoadedPolicy {
  const result = parsePolicy(stringify(aPolicyInput(changes)), 'test-policy.yaml');
  if (!result.ok) throw new Error(`test policy is invalid:\n${result.error.map((p) => `${p.line}:${p.col} ${p.message}`).join('\n')}`);
  return result.value;
}

function merge(base: unknown, changes: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(changes)) return changes;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete out[key];
    else out[key] = merge(out[key], value);
  }
  return out;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
