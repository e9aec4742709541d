// Pure Block Kit renderers: the approval card, help, lists and DMs. Data in, JSON out; snapshot-tested.
import type { KnownBlock } from '@slack/types';
import { currentStep } from '../core/lifecycle.ts';
import { grantRef, requestRef } from '../core/ids.ts';
import { formatDuration } from '../policy/duration.ts';
import type { ApprovalRecord, GrantRecord, RequestRecord } from '../core/records.ts';
import { stepDeciders } from './step-text.ts';
import { escalationCardNote } from './escalation-notice.ts';
import { code, escapeMrkdwn, FIELD_LIMIT, MAX_BLOCKS, mention, plural, resourceRole, SECTION_LIMIT, slackTime, truncate } from './text.ts';

export interface SlackMessage {
  text: string;
  blocks: KnownBlock[];
}

export const ACTION = {
  approve: 'approve_request',
  deny: 'deny_request',
  cancel: 'cancel_request',
  revoke: 'revoke_grant',
  extend: 'extend_grant',
  acknowledge: 'acknowledge_breakglass',
  reviewOk: 'review_looks_right',
  reviewFlag: 'review_flag',
} as const;

export const mrkdwn = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text: truncate(text, SECTION_LIMIT) } });
export const plainSection = (text: string): KnownBlock => ({ type: 'section', text: { type: 'plain_text', text: truncate(text, SECTION_LIMIT), emoji: false } });
export const context = (text: string): KnownBlock => ({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(text, SECTION_LIMIT) }] });

/** The reason and its label as one section, in plain text so a reason can neither ping anyone nor fake a link. */
export const reasonBlock = (reason: string): KnownBlock => plainSection(`Reason: ${reason || '(none given)'}`);

export function ephemeral(text: string): SlackMessage & { response_type: 'ephemeral' } {
  return { response_type: 'ephemeral', text, blocks: [mrkdwn(text)] };
}

const what = resourceRole;

export function ticketLinks(tickets: readonly string[], ticketUrl: string | undefined): string {
  return tickets.map((t) => (ticketUrl ? `<${ticketUrl.replace('{ticket}', encodeURIComponent(t))}|${escapeMrkdwn(t)}>` : escapeMrkdwn(t))).join(', ');
}

export interface CardContext {
  request: RequestRecord;
  approvals: readonly ApprovalRecord[];
  grant?: GrantRecord | null | undefined;
  /** A bundle's grants, one per member, listed under the status. */
  grants?: readonly GrantRecord[] | undefined;
  ticketUrl?: string | undefined;
}

/** The approval card: who wants what and why, where it stands, and the buttons while it is pending. */
export function requestCard({ request, approvals, grant, grants = [], ticketUrl }: CardContext): SlackMessage {
  const id = requestRef(request.id);
  const title = request.extendsGrantId === null ? `Access request ${id}` : `Extension request ${id} for ${grantRef(request.extendsGrantId)}`;
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: request.breakglass ? `🚨 Break-glass ${id}` : title } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Requester*\n${mention(request.requester)}` },
        { type: 'mrkdwn', text: `*Resource*\n${what(request)}` },
        { type: 'mrkdwn', text: `*Duration*\n${formatDuration(request.durationMs)}` },
        { type: 'mrkdwn', text: `*Tier*\n${escapeMrkdwn(request.tier)}` },
      ],
    },
  ];
  if (request.startsAt !== null) blocks.push(mrkdwn(`*Window* ${windowText(request)}`));
  if (request.tickets.length > 0) blocks.push(mrkdwn(`*Tickets* ${truncate(ticketLinks(request.tickets, ticketUrl), FIELD_LIMIT)}`));
  blocks.push(reasonBlock(request.reason));
  blocks.push(context(status(request, grant)));
  const escalation = escalationCardNote(request);
  if (escalation) blocks.push(context(escalation));
  if (request.bundleMembers !== null && grants.length > 0) blocks.push(context(`Grants: ${grants.map((g) => `${code(grantRef(g.id))} ${what(g)} ${g.state.replace('_', ' ')}${g.state === 'active' ? ` until ${slackTime(g.expiresAt ?? 0)}` : ''}`).join('; ')}`));
  const approvedBy = approvalsLine(request, approvals);
  if (approvedBy) blocks.push(context(approvedBy));
  if (request.state === 'pending') {
    blocks.push({
      type: 'actions',
      block_id: `decide_${id}`,
      elements: [
        { type: 'button', action_id: ACTION.approve, text: { type: 'plain_text', text: 'Approve' }, style: 'primary', value: id },
        { type: 'button', action_id: ACTION.deny, text: { type: 'plain_text', text: 'Deny' }, style: 'danger', value: id },
      ],
    });
  }
  // `text` is what notifications show: a mention renders as the person's name there, a bare id would not.
  return { text: `${title}: ${mention(request.requester)} asks for ${request.resource} ${request.bundleMembers ? `(bundle: ${request.bundleMembers.map((m) => `${m.resource} ${m.role}`).join(', ')})` : request.role} for ${formatDuration(request.durationMs)} (${request.state.replace('_', ' ')})`, blocks };
}

function status(request: RequestRecord, grant: GrantRecord | null | undefined): string {
  const step = currentStep(request);
  switch (request.state) {
    case 'pending':
      return step === null
        ? 'Waiting for a decision.'
        : `⏳ Waiting for step ${step.index + 1} of ${request.steps.length}: ${plural(step.count, 'approval')} from ${stepDeciders(step)}.`;
    case 'approved':
      if (grant?.state === 'active') return `✅ Approved by ${mention(request.decidedBy ?? 'policy')}; granted as ${grantRef(grant.id)} until ${slackTime(grant.expiresAt ?? 0)}.`;
      if (grant && grant.state !== 'pending') return `✅ Approved by ${mention(request.decidedBy ?? 'policy')}; grant ${grantRef(grant.id)} is ${grant.state.replace('_', ' ')}.`;
      return `✅ Approved by ${mention(request.decidedBy ?? 'policy')}.`;
    case 'scheduled':
      return `🗓️ Approved by ${mention(request.decidedBy ?? 'policy')}; scheduled for ${windowText(request)}. The requester can cancel it until it starts.`;
    case 'denied':
      return `⛔ Denied by ${mention(request.decidedBy ?? 'someone')}${request.decisionNote ? `: ${escapeMrkdwn(truncate(request.decisionNote, 500))}` : '.'}`;
    case 'cancelled':
      // Sesame cancels a request the policy no longer allows when someone tries to approve it.
      if (request.decidedBy === 'sesame') return `🚫 Cancelled by Sesame: the policy in force no longer allows it${request.decisionNote ? `. ${escapeMrkdwn(truncate(request.decisionNote, 500))}` : '.'}`;
      if (request.decidedBy === null || request.decidedBy === request.requester) return '🚫 Cancelled by the requester.';
      // An admin's revoke-all (on the requester, or on someone who approved a step); the note says which.
      return `🚫 Cancelled by ${mention(request.decidedBy)}${request.decisionNote ? `: ${escapeMrkdwn(truncate(request.decisionNote, 500))}` : '.'}`;
    case 'timed_out':
      return '⌛ Timed out: nobody decided in time.';
    case 'failed':
      return `⚠️ Approved, but the grant failed${request.decisionNote ? `: ${escapeMrkdwn(truncate(request.decisionNote, 500))}` : '.'}`;
  }
}

/** A scheduled window as Slack shows times: in each reader's own time zone. */
export const windowText = (r: Pick<RequestRecord, 'startsAt' | 'durationMs'>): string => `${slackTime(r.startsAt ?? 0)} – ${slackTime((r.startsAt ?? 0) + r.durationMs)}`;

function approvalsLine(request: RequestRecord, approvals: readonly ApprovalRecord[]): string | null {
  if (approvals.length === 0) return null;
  const byStep = request.steps.map((s, i) => {
    const names = approvals.filter((a) => a.step === i).map((a) => mention(a.approver));
    return names.length === 0 ? null : `step ${i + 1} (${s.leads ? 'team leads' : code(s.from)}): ${names.slice(0, 10).join(', ')}${names.length > 10 ? ` and ${names.length - 10} more` : ''}`;
  });
  return `Approved so far — ${byStep.filter(Boolean).join('; ')}`;
}

export interface ResourceSummary {
  name: string;
  description: string | undefined;
  roles: string[];
}

export function helpMessage(resources: readonly ResourceSummary[]): SlackMessage {
  const usage = [
    '`/access request <resource> [role] [duration] [reason…]` — ask for access (or just `/access request` for a form)',
    '`… [duration] at 14:00 <reason…>` (or `at tomorrow 09:00`) — a window that starts later; cancel it before it starts',
    '`/access breakglass <resource> [role] [duration] <reason…>` — emergency access, from an incident channel',
    '`/access list` — your pending requests and active grants',
    '`/access pending` — requests waiting for your approval',
    '`/access cancel <R…>` · `/access revoke <G…>` · `/access extend <G…> <duration>`',
    '`/access explain <resource> [role] [duration]` — what the policy would decide, and why',
  ].join('\n');
  const shown = resources.slice(0, 30);
  const lines = shown.map((r) => `• ${code(r.name)} (${r.roles.map(escapeMrkdwn).join(', ')})${r.description ? ` — ${escapeMrkdwn(r.description)}` : ''}`);
  if (resources.length > shown.length) lines.push(`…and ${resources.length - shown.length} more; \`/access explain <resource>\` tells you about any of them.`);
  const list = resources.length === 0 ? 'There is nothing you may request yet.' : `*You may request*\n${lines.join('\n')}`;
  return { text: 'Sesame: just-in-time access. Type /access request <resource> [role] [duration] [reason].', blocks: [mrkdwn(`*Sesame* — just-in-time access\n${usage}`), mrkdwn(list)] };
}

export function overviewMessage(requests: readonly RequestRecord[], grants: readonly GrantRecord[]): SlackMessage {
  const reqLines = requests.map((r) => `• ${code(requestRef(r.id))} ${what(r)} for ${formatDuration(r.durationMs)} — ${r.state === 'scheduled' ? `🗓️ scheduled for ${windowText(r)}` : waitingFor(r)} (\`/access cancel ${requestRef(r.id)}\`)`);
  const grantLines = grants.map((g) => `• ${code(grantRef(g.id))} ${what(g)} until ${slackTime(g.expiresAt ?? 0)}${g.state === 'revoke_failed' ? ' — *revocation failing, admins alerted*' : ''} (\`/access revoke ${grantRef(g.id)}\`)`);
  const sections = [
    `*Pending and scheduled requests*\n${reqLines.length ? reqLines.join('\n') : 'None.'}`,
    `*Active grants*\n${grantLines.length ? grantLines.join('\n') : 'None.'}`,
  ];
  return { text: `${plural(requests.length, 'pending request')}, ${plural(grants.length, 'active grant')}`, blocks: sections.map((s) => mrkdwn(s)).slice(0, MAX_BLOCKS) };
}

const waitingFor = (r: RequestRecord) => {
  const step = currentStep(r);
  return step ? `waiting for ${stepDeciders(step)}` : 'waiting';
};

/** `/access pending`: requests this person may approve, and (for reviewers) break-glass uses waiting for review. */
export function awaitingMessage(requests: readonly RequestRecord[], unreviewed: readonly GrantRecord[] = [], toReview: readonly KnownBlock[][] = []): SlackMessage {
  if (requests.length === 0 && unreviewed.length === 0 && toReview.length === 0) return { text: 'Nothing is waiting for your approval.', blocks: [mrkdwn('Nothing is waiting for your approval.')] };
  const blocks: KnownBlock[] = [];
  if (requests.length > 0) {
    const lines = requests.slice(0, 40).map((r) => `• ${code(requestRef(r.id))} ${mention(r.requester)} wants ${what(r)} for ${formatDuration(r.durationMs)}${r.cardChannel ? ` — card in <#${r.cardChannel}>` : ''}`);
    if (requests.length > 40) lines.push(`…and ${requests.length - 40} more.`);
    blocks.push(mrkdwn(`*Waiting for your approval*\n${lines.join('\n')}`));
  }
  if (unreviewed.length > 0) {
    blocks.push(mrkdwn(`*Break-glass uses waiting for your review* (${unreviewed.length})`));
    // Each with its own button; the cap keeps the message within Slack's 50 blocks.
    for (const g of unreviewed.slice(0, 40)) blocks.push(acknowledgeRow(g));
    if (unreviewed.length > 40) blocks.push(context(`…and ${unreviewed.length - 40} more; acknowledge these first.`));
  }
  if (toReview.length > 0) {
    blocks.push(mrkdwn(`*Ended grants waiting for your review* (${toReview.length})`));
    for (const rows of toReview.slice(0, 20)) blocks.push(...rows);
    if (toReview.length > 20) blocks.push(context(`…and ${toReview.length - 20} more; review these first.`));
  }
  const reviews = toReview.length > 0 ? `, ${plural(toReview.length, 'ended grant')} to review` : '';
  return { text: `${plural(requests.length, 'request')} waiting for your approval, ${plural(unreviewed.length, 'break-glass use')} for your review${reviews}`, blocks: blocks.slice(0, MAX_BLOCKS) };
}

/** One unreviewed break-glass use with its Acknowledge button (the value is the grant id only). */
export function acknowledgeRow(g: GrantRecord): KnownBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: truncate(`🚨 ${code(grantRef(g.id))} ${mention(g.user)} — ${what(g)} from ${slackTime(g.startsAt ?? g.createdAt)}: ${escapeMrkdwn(truncate(g.reason, 300))}`, SECTION_LIMIT) },
    accessory: { type: 'button', action_id: ACTION.acknowledge, text: { type: 'plain_text', text: 'Acknowledge' }, value: grantRef(g.id) },
  };
}

/** A direct message with an optional quoted text from someone else (a deny note, a provider message). */
export function directMessage(text: string, quoted?: string | null): SlackMessage {
  const blocks = [mrkdwn(text)];
  if (quoted) blocks.push(plainSection(quoted));
  return { text: quoted ? `${text} ${quoted}` : text, blocks };
}
