// Reads, parses and validates a policy file; every problem comes back as FILE:LINE:COL message.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { isScalar, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { crossCheck, missingSecrets, type PolicyIssue } from './cross-check.ts';
import { policySchema, type Policy } from './schema.ts';
import { positionOf, type SourcePosition } from './source-positions.ts';

/** Policies are hand-written; anything this large is a mistake, and parsing it would stall start-up. */
export const MAX_POLICY_BYTES = 5 * 1024 * 1024;

export interface PolicyProblem extends SourcePosition {
  file: string;
  message: string;
}

export interface LoadedPolicy {
  policy: Policy;
  /** sha256 (hex) of the file's bytes; recorded with every audit entry made while this policy is in force. */
  sha256: string;
  file: string;
  /** Where a dotted rule path (e.g. `tiers.high.approvals`) is written in the file. */
  locate(path: readonly PropertyKey[]): SourcePosition;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col} ${p.message}`;
}

export interface PolicyLoadOptions {
  /** When given, every secret variable a provider names must be set in it (as at `sesame start`). */
  env?: Readonly<Record<string, string | undefined>>;
}

export async function loadPolicyFile(file: string, options: PolicyLoadOptions = {}): Promise<Result<LoadedPolicy, PolicyProblem[]>> {
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (!info.isFile()) return err([{ file, line: 1, col: 1, message: 'is not a file; give the path of a policy YAML file' }]);
    if (info.size > MAX_POLICY_BYTES) return err([tooLarge(file, info.size)]);
    bytes = await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'does not exist; set POLICY_PATH or pass the file, e.g. policies/policy.yaml'
        : `cannot be read (${code ?? String(cause)}); check its permissions`;
    return err([{ file, line: 1, col: 1, message }]);
  }
  return parsePolicy(bytes, file, options);
}

export function parsePolicy(bytes: Buffer | string, file: string, options: PolicyLoadOptions = {}): Result<LoadedPolicy, PolicyProblem[]> {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buffer.length > MAX_POLICY_BYTES) return err([tooLarge(file, buffer.length)]);
  const text = buffer.toString('utf8');
  const at = (pos: SourcePosition, message: string): PolicyProblem => ({ file, ...pos, message });

  if (text.trim() === '') return err([at({ line: 1, col: 1 }, 'the policy is empty; start from policies/policy.yaml in the Sesame repository')]);

  const lines = new LineCounter();
  // yaml's own uniqueKeys check is quadratic in the size of a map; duplicateKeys() is one pass.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const syntax = [
    ...doc.errors.map((e) => ({ offset: e.pos[0], message: `YAML syntax: ${firstLine(e.message)}` })),
    ...duplicateKeys(doc).map((d) => ({ offset: d.offset, message: `duplicate key "${d.key}"; each key may appear only once in a map` })),
  ];
  if (syntax.length > 0) {
    return err(syntax.map(({ offset, message }) => at(lines.linePos(offset), message)).sort((a, b) => a.line - b.line || a.col - b.col));
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (cause) {
    return err([at({ line: 1, col: 1 }, `YAML: ${firstLine(String((cause as Error).message ?? cause))}`)]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return err([at({ line: 1, col: 1 }, 'the policy must be a YAML map with version, settings, groups, tiers and resources')]);
  }

  const locate = (path: readonly PropertyKey[], key?: string) => positionOf(doc, lines, path, key);
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) return err(sortProblems(parsed.error.issues.flatMap((issue) => describeIssue(issue, [], locate, file))));

  const crossIssues = [...crossCheck(parsed.data), ...(options.env ? missingSecrets(parsed.data, options.env) : [])];
  if (crossIssues.length > 0) return err(sortProblems(crossIssues.map((i) => problemAt(i, locate, file))));

  return ok({
    policy: parsed.data,
    sha256: createHash('sha256').update(buffer).digest('hex'),
    file,
    locate: (path) => locate(path),
  });
}

type Locate = (path: readonly PropertyKey[], key?: string) => SourcePosition;

function problemAt(issue: PolicyIssue, locate: Locate, file: string): PolicyProblem {
  return { file, ...locate(issue.path), message: `${dotted(issue.path)}: ${issue.message}` };
}

function describeIssue(issue: z.core.$ZodIssue, prefix: PropertyKey[], locate: Locate, file: string): PolicyProblem[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      file,
      ...locate(path, key),
      message: `${dotted([...path, key])}: unknown key; check its spelling (unknown keys are refused so a typo cannot weaken the policy)`,
    }));
  }
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    // Explain the branch the author evidently meant: the one that failed somewhere inside rather than on its type.
    const meant = issue.errors.filter((branch) => !branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value')));
    if (meant.length === 1 && meant[0]) return meant[0].flatMap((inner) => describeIssue(inner, path, locate, file));
    const missing = issue.errors.every((branch) => branch.every((i) => i.path.length === 0 && isMissing(i)));
    const message = missing ? 'is required' : issue.message === 'Invalid input' ? unionHint(path) : issue.message;
    return [{ file, ...locate(path), message: `${dotted(path)}: ${message}` }];
  }
  return [{ file, ...locate(path), message: `${dotted(path)}: ${isMissing(issue) ? 'is required' : plain(issue.message)}` }];
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

function dotted(path: readonly PropertyKey[]): string {
  return path
    .map((step, i) => (typeof step === 'number' ? `[${step}]` : i === 0 ? String(step) : `.${String(step)}`))
    .join('') || '(top level)';
}

function sortProblems(problems: PolicyProblem[]): PolicyProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}

function tooLarge(file: string, size: number): PolicyProblem {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return { file, line: 1, col: 1, message: `the file is ${mb(size)} MB; policies are limited to ${mb(MAX_POLICY_BYTES)} MB` };
}

function duplicateKeys(doc: Document): { key: string; offset: number }[] {
  const found: { key: string; offset: number }[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) found.push({ key, offset: pair.key.range?.[0] ?? 0 });
        seen.add(key);
      }
    },
  });
  return found;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

