// Names every test that needed a retry (CI retries a failed test once), so a flaky test is reported, never hidden.
import { appendFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

export default class RetriedReporter implements Reporter {
  onTestCaseResult(testCase: TestCase): void {
    const retries = testCase.diagnostic()?.retryCount ?? 0;
    // vitest retries every `it.fails` test (its body throws, as expected) and then reports it as expected: no flake.
    if (retries === 0 || testCase.options.fails === true) return;
    const outcome = testCase.result().state === 'passed' ? `passed on retry ${retries}` : `failed after ${retries} retries`;
    const line = `[ci] ${outcome}: ${relative(process.cwd(), testCase.module.moduleId)} > ${testCase.fullName}`;
    console.log(line);
    // .ci/run repeats these lines beside its summary, where a reader of the run's end sees them.
    const file = process.env.SESAME_RETRIED_FILE;
    if (file) appendFileSync(file, `${line}\n`);
  }
}
