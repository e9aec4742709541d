// Reads, parses and validates a policy file; every problem comes back as FILE:LINE:COL message.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { err, ok, type Result } from '../core/result.ts';
import { crossCheck, missingSecrets, partsOf, type PolicyIssue } from './cross-check.ts';
import { readIdentitiesFile } from './identities-file.ts';
import { wellFormedParts } from './policy-parts.ts';
import { policySchema, type Policy } from './schema.ts';
import type { SourcePosition } from './source-positions.ts';
import { readYaml, sortProblems, type Locate, type PolicyProblem } from './yaml-source.ts';
import { describeIssues, dotted } from './zod-problems.ts';

export { formatProblem, type PolicyProblem } from './yaml-source.ts';

/** Policies are hand-written; anything this large is a mistake, and parsing it would stall start-up. */
export const MAX_POLICY_BYTES = 5 * 1024 * 1024;

export interface LoadedPolicy {
  policy: Policy;
  /** sha256 (hex) of the file's bytes; recorded with every audit entry made while this policy is in force. */
  sha256: string;
  file: string;
  /** Where a dotted rule path (e.g. `tiers.high.approvals`) is written in the file. */
  locate(path: readonly PropertyKey[]): SourcePosition;
  /** `settings.identities_file`, when the policy names one; its table is merged into `settings.identities`. */
  identities?: { file: string; sha256: string };
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
  const parsed = parsePolicy(bytes, file, options);
  return parsed.ok ? withIdentitiesFile(parsed.value) : parsed;
}

/** Reads `settings.identities_file` (if named) and merges its table into `settings.identities`. */
async function withIdentitiesFile(loaded: LoadedPolicy): Promise<Result<LoadedPolicy, PolicyProblem[]>> {
  const { settings } = loaded.policy;
  if (settings.identities_file === undefined) return ok(loaded);
  const read = await readIdentitiesFile({ path: settings.identities_file, policyFile: loaded.file, inline: settings.identities, position: loaded.locate(['settings', 'identities_file']) });
  if (!read.ok) return read;
  const { file, sha256, table } = read.value;
  return ok({ ...loaded, policy: { ...loaded.policy, settings: { ...settings, identities: { ...settings.identities, ...table } } }, identities: { file, sha256 } });
}

export function parsePolicy(bytes: Buffer | string, file: string, options: PolicyLoadOptions = {}): Result<LoadedPolicy, PolicyProblem[]> {
  const buffer = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buffer.length > MAX_POLICY_BYTES) return err([tooLarge(file, buffer.length)]);
  const text = buffer.toString('utf8');
  const at = (pos: SourcePosition, message: string): PolicyProblem => ({ file, ...pos, message });

  if (text.trim() === '') return err([at({ line: 1, col: 1 }, 'the policy is empty; start from policies/policy.yaml in the Sesame repository')]);

  const source = readYaml(text, file);
  if (!source.ok) return source;
  const { raw, locate } = source.value;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return err([at({ line: 1, col: 1 }, 'the policy must be a YAML map with version, settings, groups, tiers and resources')]);
  }

  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    // Dangling references in the well-formed parts are reported too, so one run shows every problem.
    const shape = describeIssues(parsed.error.issues, policySchema, locate, file);
    const references = crossCheck(wellFormedParts(raw as Record<string, unknown>)).map((i) => problemAt(i, locate, file));
    return err(sortProblems([...shape, ...references]));
  }

  const crossIssues = [...crossCheck(partsOf(parsed.data)), ...(options.env ? missingSecrets(parsed.data, options.env) : [])];
  if (crossIssues.length > 0) return err(sortProblems(crossIssues.map((i) => problemAt(i, locate, file))));

  return ok({
    policy: parsed.data,
    sha256: createHash('sha256').update(buffer).digest('hex'),
    file,
    locate: (path) => locate(path),
  });
}

function problemAt(issue: PolicyIssue, locate: Locate, file: string): PolicyProblem {
  return { file, ...locate(issue.path), message: `${dotted(issue.path)}: ${issue.message}` };
}

function tooLarge(file: string, size: number): PolicyProblem {
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return { file, line: 1, col: 1, message: `the file is ${mb(size)} MB; policies are limited to ${mb(MAX_POLICY_BYTES)} MB` };
}
