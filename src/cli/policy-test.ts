// `sesame policy test [PATH…] [--policy FILE]`: runs *.test.yaml cases against a policy; no Slack, Redis or database.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { err, ok, type Result } from '../core/result.ts';
import { formatProblem, loadPolicyFile, type LoadedPolicy, type PolicyProblem } from '../policy/load.ts';
import { checkTestGroups, formatCaseResult, runPolicyTests } from '../policy/run-policy-tests.ts';
import { parsePolicyTestFile } from '../policy/test-file.ts';
import { EXIT, line, type CliIo } from './io.ts';

export const POLICY_TEST_USAGE = 'usage: sesame policy test [PATH…] [--policy FILE]   (PATH: *.test.yaml files or folders; default policies/tests/)';
const DEFAULT_TESTS = 'policies/tests';

export async function policyTest(args: string[], io: CliIo, defaultPolicyPath: string, now: Date = new Date()): Promise<number> {
  let parsedArgs;
  try {
    parsedArgs = parseArgs({ args, allowPositionals: true, options: { policy: { type: 'string' } } });
  } catch (error) {
    line(io.stderr, `${(error as Error).message}\n\n${POLICY_TEST_USAGE}`);
    return EXIT.usage;
  }
  const { positionals, values } = parsedArgs;
  const files = await testFiles(positionals.length > 0 ? positionals : [DEFAULT_TESTS]);
  if (!files.ok) {
    line(io.stderr, `${files.error}\n\n${POLICY_TEST_USAGE}`);
    return EXIT.usage;
  }

  const policies = new Map<string, Promise<Result<LoadedPolicy, PolicyProblem[]>>>();
  const loadOnce = (path: string) => {
    let loading = policies.get(path);
    if (!loading) {
      loading = loadPolicyFile(path);
      policies.set(path, loading);
    }
    return loading;
  };

  let passed = 0;
  let failed = 0;
  let malformed = false;
  let brokenPolicy = false;
  const reported = new Set<string>();
  for (const file of files.value) {
    const parsed = parsePolicyTestFile(await readFile(file, 'utf8'), file);
    if (!parsed.ok) {
      for (const problem of parsed.error) line(io.stderr, formatProblem(problem));
      malformed = true;
      continue;
    }
    // The file's own `policy:` is relative to the file; --policy and POLICY_PATH to where the command runs.
    const own = parsed.value.tests.policy;
    const policyPath = own === undefined ? (values.policy ?? defaultPolicyPath) : isAbsolute(own) ? own : join(dirname(file), own);
    const loaded = await loadOnce(policyPath);
    if (!loaded.ok) {
      if (!reported.has(policyPath)) for (const problem of loaded.error) line(io.stderr, formatProblem(problem));
      reported.add(policyPath);
      line(io.stderr, `${file}: not run, because the policy ${policyPath} is not valid (see above).`);
      brokenPolicy = true;
      continue;
    }
    const groupProblems = checkTestGroups(parsed.value, loaded.value);
    if (groupProblems.length > 0) {
      for (const problem of groupProblems) line(io.stderr, formatProblem(problem));
      malformed = true;
      continue;
    }
    for (const result of await runPolicyTests(parsed.value, loaded.value, now)) {
      line(io.stdout, formatCaseResult(result));
      if (result.mismatches.length === 0) passed++;
      else failed++;
    }
  }
  line(io.stdout, `${passed} passed, ${failed} failed`);
  if (malformed) return EXIT.usage;
  return failed > 0 || brokenPolicy ? EXIT.failed : EXIT.ok;
}

/** Every *.test.yaml named, or found below a named folder, in a stable order. */
async function testFiles(paths: string[]): Promise<Result<string[], string>> {
  const found: string[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    if (!seen.has(resolve(file))) found.push(file);
    seen.add(resolve(file));
  };
  for (const path of paths) {
    const info = await stat(path).catch(() => null);
    if (info === null) return err(`${path} does not exist; give a *.test.yaml file or a folder of them (default ${DEFAULT_TESTS}/).`);
    if (info.isFile()) {
      add(path);
      continue;
    }
    const entries = await readdir(path, { recursive: true, withFileTypes: true });
    const inFolder = entries.filter((e) => e.isFile() && /\.test\.ya?ml$/.test(e.name)).map((e) => join(e.parentPath, e.name));
    if (inFolder.length === 0) return err(`${path} holds no *.test.yaml files.`);
    inFolder.sort().forEach(add);
  }
  return ok(found);
}
