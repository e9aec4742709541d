// zod issues as FILE:LINE:COL problems a person can act on, with "did you mean" for a misspelt key.
import type { z } from 'zod';
import { editDistance } from './closest.ts';
import type { Locate, PolicyProblem } from './yaml-source.ts';

export function describeIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, locate: Locate, file: string): PolicyProblem[] {
  return issues.flatMap((issue) => describeIssue(issue, [], { schema, locate, file }));
}

interface Context {
  schema: z.ZodType;
  locate: Locate;
  file: string;
}

function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[], ctx: Context): PolicyProblem[] {
  const { locate, file } = ctx;
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(ctx.schema, path);
    return issue.keys.map((key) => {
      const meant = closestKey(key, known);
      const hint = meant === undefined ? 'check its spelling' : `did you mean \`${meant}\`?`;
      return { file, ...locate(path, key), message: `${dotted([...path, key])}: unknown key; ${hint} (unknown keys are refused so a typo cannot weaken the policy)` };
    });
  }
  if (issue.code === 'invalid_key' && path.length > 0) {
    // A map key that fails its schema (a user ID that is not one): say why, at the key.
    const why = issue.issues[0]?.message;
    return [{ file, ...locate(path.slice(0, -1), String(path.at(-1))), message: `${dotted(path)}: ${why ? plain(why) : 'is not a valid key here'}` }];
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Explain the branch the author evidently meant: the one that failed somewhere inside rather than on its type.
    const meant = issue.errors.filter((branch) => !branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
    if (meant.length === 1 && meant[0]) return meant[0].flatMap((inner) => describeIssue(inner, path, ctx));
    const missing = issue.errors.every((branch) => branch.every((i) => i.path.length === 0 && isMissing(i)));
    const message = missing ? 'is required' : issue.message === 'Invalid input' ? unionHint(path) : issue.message;
    return [{ file, ...locate(path), message: `${dotted(path)}: ${message}` }];
  }
  return [{ file, ...locate(path), message: `${dotted(path)}: ${isMissing(issue) ? 'is required' : plain(issue.message)}` }];
}

/** The nearest known key, if it is plausibly a typo of it (a letter or two off). */
function closestKey(key: string, known: string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance < (best?.distance ?? Infinity)) best = { name, distance };
  }
  return best !== undefined && best.distance <= Math.min(2, Math.floor(best.name.length / 3)) ? best.name : undefined;
}

type Def = { type: string; shape?: Record<string, z.ZodType>; valueType?: z.ZodType; element?: z.ZodType; innerType?: z.ZodType; in?: z.ZodType; options?: z.ZodType[] };
const defOf = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The keys the schema allows for the object at `path` (every branch's, where a union allows several shapes). */
export function knownKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType[] = [schema];
  for (const step of path) current = current.flatMap((s) => objectsOf(s)).flatMap((s) => childrenOf(s, step));
  return [...new Set(current.flatMap((s) => objectsOf(s)).flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}

/** The schema itself without its wrappers (optional, default, transform…), split into a union's options. */
function objectsOf(schema: z.ZodType): z.ZodType[] {
  const def = defOf(schema);
  const inner = def.innerType ?? def.in;
  if (inner !== undefined && ['optional', 'nullable', 'default', 'prefault', 'pipe', 'readonly', 'catch'].includes(def.type)) return objectsOf(inner);
  if (def.type === 'union' && def.options) return def.options.flatMap(objectsOf);
  return [schema];
}

function childrenOf(schema: z.ZodType, step: PropertyKey): z.ZodType[] {
  const def = defOf(schema);
  if (def.type === 'object') {
    const child = def.shape?.[String(step)];
    return child === undefined ? [] : [child];
  }
  if (def.type === 'record' && def.valueType) return [def.valueType];
  if (def.type === 'array' && def.element && typeof step === 'number') return [def.element];
  return [];
}

function isMissing(issue: z.core.$ZodIssue): boolean {
  return issue.code === 'invalid_type' && / received undefined$/.test(issue.message);
}

function unionHint(path: PropertyKey[]): string {
  return path.at(-1) === 'auto_approve'
    ? 'must be "always" or a map of conditions (business_hours, ticket, max_duration, groups)'
    : 'has a value of the wrong kind';
}

/** zod's "Invalid input: expected boolean, received string" reads better as "expected boolean, got string". */
function plain(message: string): string {
  return message.replace(/^Invalid input: expected (.+), received (.+)$/, 'expected $1, got $2').replace(/^Invalid input: /, '');
}

export function dotted(path: readonly PropertyKey[]): string {
  return path
    .map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? String(step) : `.${String(step)}`))
    .join('') || '(top level)';
}
