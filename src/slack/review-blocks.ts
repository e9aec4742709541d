// Pure Block Kit for post-access review: the card its reviewers answer, the Flag form, list rows and the reminder.
import type { KnownBlock, View } from '@slack/types';
import { grantRef } from '../core/ids.ts';
import { formatDuration } from '../policy/duration.ts';
import type { ApprovalRecord, GrantRecord, RequestRecord } from '../core/records.ts';
import { ACTION, context, mrkdwn, reasonBlock, type SlackMessage } from './blocks.ts';
import { FIELD } from './views.ts';
import { code, escapeMrkdwn, mention, plural, resourceRole, SECTION_LIMIT, slackTime, truncate } from './text.ts';

export const FLAG_VIEW = 'flag_review';

const button = (actionId: string, text: string, value: string, style?: 'primary' | 'danger') => ({ type: 'button' as const, action_id: actionId, text: { type: 'plain_text' as const, text }, value, ...(style ? { style } : {}) });

/** The two answers; the value is the grant id only, so a click names nothing else the clicker could change. */
export const reviewButtons = (g: GrantRecord) => [button(ACTION.reviewOk, 'Looks right', grantRef(g.id), 'primary'), button(ACTION.reviewFlag, 'Flag', grantRef(g.id), 'danger')];

/** How the grant ended: on time, or early and by whom. */
function endedLine(g: GrantRecord): string {
  const ended = g.endedAt ?? g.expiresAt ?? 0;
  const early = g.state === 'revoked' || (g.expiresAt !== null && ended < g.expiresAt);
  return early ? `ended early, ${slackTime(ended)}${g.state === 'revoked' && g.endedBy ? ` (revoked by ${mention(g.endedBy)})` : ''}` : `ended as planned, ${slackTime(ended)}`;
}

function approversLine(request: RequestRecord, approvals: readonly ApprovalRecord[]): string {
  if (approvals.length > 0) return [...new Set(approvals.map((a) => a.approver))].map(mention).join(', ');
  return request.decidedBy === 'policy' ? 'nobody: auto-approved by the policy' : mention(request.decidedBy ?? 'nobody');
}

/** What was used, by whom, for how long and why, who approved it; buttons until reviewed, then the verdict. */
export function postReviewCard(request: RequestRecord, grant: GrantRecord, approvals: readonly ApprovalRecord[], reviewers: string): SlackMessage {
  const id = grantRef(grant.id);
  const start = grant.startsAt ?? grant.createdAt;
  const used = Math.max(0, (grant.endedAt ?? grant.expiresAt ?? start) - start);
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `🔎 Review of ${id}` } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Who*\n${mention(grant.user)}` },
        { type: 'mrkdwn', text: `*What*\n${resourceRole(grant)}` },
        { type: 'mrkdwn', text: `*How long*\n${formatDuration(used)} of ${formatDuration(request.durationMs)}, from ${slackTime(start)}` },
        { type: 'mrkdwn', text: `*Ended*\n${endedLine(grant)}` },
        { type: 'mrkdwn', text: `*Approved by*\n${approversLine(request, approvals)}` },
      ],
    },
    reasonBlock(request.reason),
  ];
  if (grant.reviewedBy === null) {
    blocks.push(context(`${reviewers}: did this access look right? Flag it if not; the admins are alerted.`));
    blocks.push({ type: 'actions', block_id: `post_review_${id}`, elements: reviewButtons(grant) });
  } else if (grant.reviewVerdict === 'flagged') {
    blocks.push(context(`🚩 Flagged by ${mention(grant.reviewedBy)} at ${slackTime(grant.reviewedAt ?? 0)}: ${escapeMrkdwn(truncate(grant.reviewNote ?? '', 500))}`));
  } else {
    blocks.push(context(`✅ Looks right to ${mention(grant.reviewedBy)} (${slackTime(grant.reviewedAt ?? 0)}).`));
  }
  const status = grant.reviewedBy === null ? 'waiting for review' : grant.reviewVerdict === 'flagged' ? 'flagged' : 'reviewed';
  return { text: `Review of ${id}: ${mention(grant.user)} had ${grant.resource} ${grant.role} (${status})`, blocks };
}

/** One ended grant waiting for this person's review, for App Home and `/access pending`. */
export function postReviewRows(g: GrantRecord): KnownBlock[] {
  const line = `🔎 ${code(grantRef(g.id))} ${mention(g.user)} had ${resourceRole(g)} from ${slackTime(g.startsAt ?? g.createdAt)}: ${escapeMrkdwn(truncate(g.reason, 300))}`;
  return [mrkdwn(truncate(line, SECTION_LIMIT)), { type: 'actions', elements: reviewButtons(g) }];
}

export function postReviewReminder(grants: readonly GrantRecord[], reviewersOf: (g: GrantRecord) => string): SlackMessage {
  const lines = grants.slice(0, 20).map((g) => `• ${code(grantRef(g.id))} ${mention(g.user)} ${resourceRole(g)}, for ${reviewersOf(g)}`);
  if (grants.length > 20) lines.push(`…and ${grants.length - 20} more.`);
  const waiting = plural(grants.length, 'ended grant');
  return { text: `${waiting} still waiting for review`, blocks: [mrkdwn(`⏰ ${waiting} still waiting for review. \`/access pending\` lists them with Looks right and Flag.\n${lines.join('\n')}`)] };
}

/** The Flag form: the reason is required, since it is what the admins are alerted with. */
export function flagModal(grantRef: string): View {
  return {
    type: 'modal',
    callback_id: FLAG_VIEW,
    private_metadata: grantRef,
    title: { type: 'plain_text', text: `Flag ${grantRef}` },
    submit: { type: 'plain_text', text: 'Flag' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.note.block,
        label: { type: 'plain_text', text: 'What looks wrong? (the admins are alerted)' },
        element: { type: 'plain_text_input', action_id: FIELD.note.action, multiline: true, max_length: 1_000 },
      },
    ],
  };
}
