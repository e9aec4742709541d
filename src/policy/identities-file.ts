// `settings.identities_file`: the identities table kept in a YAML or JSON file of its own (e.g. generated from an HR system),
// validated by the same schema as `settings.identities`, with every problem at its line in that file.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import type { IdentityTable } from '../core/identity.ts';
import { err, ok, type Result } from '../core/result.ts';
import { identitiesSchema } from './fields.ts';
import type { SourcePosition } from './source-positions.ts';
import { readYaml, sortProblems, type PolicyProblem } from './yaml-source.ts';
import { describeIssues } from './zod-problems.ts';

/** As for the policy: a hand-kept table this large is a mistake, and parsing it would stall start-up. */
const MAX_IDENTITIES_BYTES = 5 * 1024 * 1024;

export interface IdentitiesFile {
  /** The file as read (resolved against the policy file's folder). */
  file: string;
  /** sha256 (hex) of its bytes, so a reload sees an edit of this file alone. */
  sha256: string;
  table: IdentityTable;
}

/** Where the policy names the file, and its table in `settings.identities`; problems about the reference point there. */
export interface IdentitiesReference {
  path: string;
  policyFile: string;
  inline: IdentityTable;
  position: SourcePosition;
}

export const resolveIdentitiesPath = (path: string, policyFile: string): string => (isAbsolute(path) ? path : join(dirname(policyFile), path));

export async function readIdentitiesFile(ref: IdentitiesReference): Promise<Result<IdentitiesFile, PolicyProblem[]>> {
  const file = resolveIdentitiesPath(ref.path, ref.policyFile);
  const inPolicy = (message: string): PolicyProblem[] => [{ file: ref.policyFile, ...ref.position, message: `settings.identities_file: ${message}` }];
  let bytes: Buffer;
  try {
    const info = await stat(file);
    if (!info.isFile()) return err(inPolicy(`${file} is not a file; give the path of a YAML or JSON file, relative to the policy file`));
    if (info.size > MAX_IDENTITIES_BYTES) return err(inPolicy(`${file} is ${(info.size / 1024 / 1024).toFixed(1)} MB; identities files are limited to 5 MB`));
    bytes = await readFile(file);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return err(inPolicy(code === 'ENOENT' ? `${file} does not exist; the path is relative to the policy file` : `${file} cannot be read (${code ?? String(cause)}); check its permissions`));
  }
  // JSON is YAML, except that JSON may indent with tabs: they become spaces (same columns) so the YAML reader accepts them.
  const text = /\.json$/i.test(file) ? bytes.toString('utf8').replace(/^\t+/gm, (tabs) => ' '.repeat(tabs.length)) : bytes.toString('utf8');
  const source = readYaml(text, file);
  if (!source.ok) return source;
  const { raw, locate } = source.value;
  if (raw !== null && (typeof raw !== 'object' || Array.isArray(raw))) {
    return err([{ file, line: 1, col: 1, message: 'an identities file is a map of Slack user IDs to accounts, e.g. U0ALICE: { github: alice-gh, aws: alice@corp.example }' }]);
  }
  const parsed = identitiesSchema.safeParse(raw ?? {});
  if (!parsed.success) return err(sortProblems(describeIssues(parsed.error.issues, identitiesSchema, locate, file)));
  // One place per person: were both to name an account, which one a grant used would depend on a merge rule nobody reads.
  const twice = Object.keys(parsed.data).filter((user) => ref.inline[user] !== undefined);
  if (twice.length > 0) {
    return err(
      sortProblems(
        twice.map((user) => ({ file, ...locate([], user), message: `${user} is in settings.identities of ${ref.policyFile} too; keep each user in one of the two places` })),
      ),
    );
  }
  return ok({ file, sha256: createHash('sha256').update(bytes).digest('hex'), table: parsed.data });
}
