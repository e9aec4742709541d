// An approval step's escalation in `policy check` (the group exists, differs, comes before the timeout) and in words.
import type { PolicyIssue } from './cross-check.ts';
import { formatDuration } from './duration.ts';
import type { ApprovalStep, Settings } from './schema.ts';

export function escalationIssues(step: ApprovalStep, at: (string | number)[], settings: Settings | undefined, needGroup: (group: string, path: (string | number)[]) => void): PolicyIssue[] {
  if (step.escalate_to === undefined || step.escalate_after === undefined) return [];
  needGroup(step.escalate_to, [...at, 'escalate_to']);
  const issues: PolicyIssue[] = [];
  if (step.escalate_to === step.from) {
    issues.push({ path: [...at, 'escalate_to'], message: `escalate_to names "${step.from}", the group this step already waits for; name the group to call when "${step.from}" does not answer` });
  }
  // With settings malformed, their own problems are reported; the timeout is then unknown.
  if (settings !== undefined && step.escalate_after >= settings.request_timeout) {
    issues.push({
      path: [...at, 'escalate_after'],
      message: `escalate_after (${formatDuration(step.escalate_after)}) must be shorter than settings.request_timeout (${formatDuration(settings.request_timeout)}), or the request times out before anyone is called`,
    });
  }
  return issues;
}

/** ", escalating to managers after 30m" for a step that escalates, else nothing; appended where steps are listed. */
export const escalationSuffix = (step: Pick<ApprovalStep, 'escalate_after' | 'escalate_to'>): string =>
  step.escalate_to === undefined || step.escalate_after === undefined ? '' : `, escalating to ${step.escalate_to} after ${formatDuration(step.escalate_after)}`;
