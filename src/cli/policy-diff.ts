// `sesame policy diff OLD NEW [--format text|markdown]`: the change in who can get what, not the change in text.
import { parseArgs } from 'node:util';
import { diffAccess, renderMarkdown, renderText } from '../policy/access-diff.ts';
import { formatProblem, loadPolicyFile } from '../policy/load.ts';
import { EXIT, line, type CliIo } from './io.ts';

export const POLICY_DIFF_USAGE = 'usage: sesame policy diff OLD_POLICY NEW_POLICY [--format text|markdown]';

export async function policyDiff(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { format: { type: 'string', default: 'text' } } });
  } catch (error) {
    line(io.stderr, `${(error as Error).message}\n\n${POLICY_DIFF_USAGE}`);
    return EXIT.usage;
  }
  const { positionals, values } = parsed;
  if (positionals.length !== 2) {
    line(io.stderr, `Give the old and the new policy file, e.g. \`sesame policy diff old.yaml policies/policy.yaml\`.\n\n${POLICY_DIFF_USAGE}`);
    return EXIT.usage;
  }
  if (values.format !== 'text' && values.format !== 'markdown') {
    line(io.stderr, `--format must be text or markdown, not "${values.format}".\n\n${POLICY_DIFF_USAGE}`);
    return EXIT.usage;
  }
  const [before, after] = await Promise.all(positionals.map((file) => loadPolicyFile(file)));
  let invalid = false;
  for (const [file, loaded] of [[positionals[0], before], [positionals[1], after]] as const) {
    if (loaded?.ok !== false) continue;
    for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
    line(io.stderr, `${file} is not a valid policy; fix it (see \`sesame policy check\`) before comparing.`);
    invalid = true;
  }
  if (invalid || !before?.ok || !after?.ok) return EXIT.failed;
  const changes = diffAccess(before.value.policy, after.value.policy);
  for (const text of values.format === 'markdown' ? renderMarkdown(changes) : renderText(changes)) line(io.stdout, text);
  return EXIT.ok;
}
