// Pure sentences for what happened after a request, an approval or an explain; shared by commands, modals and buttons.
import type { RequestOutcome } from '../core/access-service.ts';
import { currentStep } from '../core/lifecycle.ts';
import { grantRef, requestRef } from '../core/ids.ts';
import type { Decision } from '../policy/decide.ts';
import { escalationSuffix } from '../policy/escalation-check.ts';
import { formatDuration } from '../policy/duration.ts';
import { windowText } from './blocks.ts';
import { explain } from './messages.ts';
import { stepDeciders } from './step-text.ts';
import { code, resourceRole, slackTime } from './text.ts';

export interface AskedFor {
  /** True when the person named no duration, so the reply says the length came from the policy. */
  defaultDuration?: boolean;
  /** The time zone an `at …` start was read in, so the reply can say so. */
  timeZone?: string | undefined;
}

export function describeOutcome(outcome: RequestOutcome, asked: AskedFor = {}): string {
  const r = outcome.request;
  const what = resourceRole(r);
  const length = formatDuration(r.durationMs);
  switch (outcome.kind) {
    case 'granted': {
      const capped = outcome.cappedFrom ? ` You asked for ${formatDuration(outcome.cappedFrom)}; break-glass is capped at ${length}, so extend it if the incident needs longer.` : '';
      const lengthNote = asked.defaultDuration ? ` for ${length} (the default for this tier)` : ` for ${length}`;
      const ids = (outcome.grants ?? [outcome.grant]).map((g) => code(grantRef(g.id))).join(', ');
      return `✅ Granted: ${what}${lengthNote} until ${slackTime(outcome.grant.expiresAt ?? 0)} (${ids}).${outcome.grants ? ' Revoking or extending any of them acts on the whole bundle.' : ''}${r.breakglass ? ' 🚨 Break-glass: announced here, and security will review it.' : ''}${capped}`;
    }
    case 'pending': {
      const step = currentStep(r);
      const lengthNote = asked.defaultDuration ? `${length}, the default for this tier` : length;
      const window = r.startsAt === null ? '' : `, ${windowText(r)}${asked.timeZone ? ` (start read in ${code(asked.timeZone)})` : ''}`;
      return `⏳ Request ${code(requestRef(r.id))} for ${what} (${lengthNote}${window}) is waiting for ${step ? stepDeciders(step) : 'approval'}. I'll DM you when it's decided; \`/access cancel ${requestRef(r.id)}\` withdraws it.`;
    }
    case 'scheduled': {
      const zone = asked.timeZone ? ` (I read your start time in ${code(asked.timeZone)})` : '';
      return `🗓️ Scheduled: ${what} for ${length}, ${windowText(r)}${zone}. Request ${code(requestRef(r.id))} is approved; the access starts then, and \`/access cancel ${requestRef(r.id)}\` withdraws it before it starts.`;
    }
    case 'failed':
      return `⚠️ Request ${code(requestRef(r.id))} for ${what} was approved, but granting it failed (${code(outcome.problem)}), so you have no access. Try again later, or tell your Sesame admins.`;
    case 'extended':
      return outcome.grant
        ? `⏩ ${code(grantRef(outcome.grant.id))} now lasts until ${slackTime(outcome.grant.expiresAt ?? 0)}.`
        : `The extension was not applied: the grant ended, or another extension took it to its tier's maximum, first. ${code('/access list')} shows what you hold; request access again if you need more.`;
  }
}

export function describeDecision(decision: Decision): string {
  if (decision.kind === 'refuse') return `*Refused.* ${explain(decision.error)}\n_Rule:_ ${code(decision.rule.path.join('.'))} — ${decision.rule.why}`;
  const r = decision.request;
  const head = `${resourceRole({ ...r, bundleMembers: r.members ?? null })} for ${formatDuration(r.duration)} (tier ${code(r.tier)})`;
  const verdict =
    decision.kind === 'auto_approve'
      ? `*Granted at once:* ${head}${r.capped ? `, capped from ${formatDuration(r.capped.requested)}` : ''}.`
      : `*Needs approval:* ${head}, from ${decision.steps.map((s, i) => `${i + 1}) ${s.count} of ${stepDeciders(s)}${escalationSuffix(s)}`).join(', then ')}.`;
  return `${verdict}\n_Rule:_ ${code(decision.rule.path.join('.'))} — ${decision.rule.why}`;
}
