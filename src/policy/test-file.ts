// The `*.test.yaml` format of `sesame policy test`: cases of a request and the outcome expected for it.
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { DomainError } from '../core/errors.ts';
import { durationSchema, userIdSchema } from './fields.ts';
import { readYaml, sortProblems, type Locate, type PolicyProblem } from './yaml-source.ts';
import { describeIssues } from './zod-problems.ts';

/** The refusals decide() can give; an expectation naming anything else could never pass. */
export const REFUSAL_CODES = [
  'unknown_resource',
  'unknown_role',
  'role_required',
  'not_eligible',
  'duration_too_long',
  'conditions_unmet',
  'reason_required',
  'breakglass_not_configured',
  'breakglass_wrong_channel',
  'breakglass_not_in_group',
  'breakglass_rate_limited',
  'bundle_member_refused',
] as const satisfies readonly DomainError['code'][];

const isoTimeSchema = z
  .string()
  .refine((text) => /^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(Date.parse(text)), 'must be an ISO time like "2026-11-23T10:00:00Z"')
  .transform((text) => new Date(text));

const requestSchema = z
  .object({
    user: userIdSchema,
    resource: z.string().min(1, 'name the resource'),
    role: z.string().min(1).optional(),
    duration: durationSchema.optional(),
    reason: z.string().default(''),
    at: isoTimeSchema.optional(),
    channel: z
      .string()
      .min(1)
      .transform((name) => name.replace(/^#/, ''))
      .optional(),
    breakglass: z.boolean().default(false),
  })
  .strict();

const stepSchema = z.object({ from: z.string().min(1), count: z.number().int().min(1).default(1), escalate_after: durationSchema.optional(), escalate_to: z.string().min(1).optional() }).strict();

const expectSchema = z
  .object({
    decision: z.enum(['auto-approve', 'needs-approval', 'refuse'], { error: 'must be auto-approve, needs-approval or refuse' }).optional(),
    tier: z.string().min(1).optional(),
    error: z.enum(REFUSAL_CODES, { error: `must be a refusal code: ${REFUSAL_CODES.join(', ')}` }).optional(),
    duration: durationSchema.optional(),
    steps: z.array(stepSchema).optional(),
  })
  .strict()
  .refine((e) => Object.keys(e).length > 0, 'say what you expect: decision, tier, error, duration or steps');

const caseSchema = z.object({ name: z.string().min(1, 'give the case a name'), request: requestSchema, expect: expectSchema }).strict();

export const policyTestFileSchema = z
  .object({
    policy: z.string().min(1).optional(),
    groups: z.record(z.string(), z.array(userIdSchema)).default({}),
    cases: z.array(caseSchema).min(1, 'list at least one case'),
  })
  .strict();

export type PolicyTestFile = z.output<typeof policyTestFileSchema>;
export type PolicyTestCase = PolicyTestFile['cases'][number];
export type Expectation = PolicyTestCase['expect'];

export interface ParsedTestFile {
  file: string;
  tests: PolicyTestFile;
  locate: Locate;
}

export function parsePolicyTestFile(text: string, file: string): Result<ParsedTestFile, PolicyProblem[]> {
  if (text.trim() === '') return err([{ file, line: 1, col: 1, message: 'the test file is empty; it needs cases: [{ name, request, expect }, …]' }]);
  const source = readYaml(text, file);
  if (!source.ok) return source;
  const parsed = policyTestFileSchema.safeParse(source.value.raw);
  if (!parsed.success) return err(sortProblems(describeIssues(parsed.error.issues, policyTestFileSchema, source.value.locate, file)));
  return ok({ file, tests: parsed.data, locate: source.value.locate });
}
