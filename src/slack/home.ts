// The App Home tab: my grants (Revoke, Extend), my pending and scheduled requests (Cancel), what waits for me (Approve, Deny, Acknowledge).
import type { KnownBlock, View } from '@slack/types';
import { grantRef, requestRef } from '../core/ids.ts';
import { formatDuration } from '../policy/duration.ts';
import type { GrantRecord, RequestRecord } from '../core/records.ts';
import { acknowledgeRow, ACTION, windowText } from './blocks.ts';
import { escalationTag } from './escalation-notice.ts';
import { postReviewRows } from './review-blocks.ts';
import { code, mention, resourceRole, slackTime, truncate } from './text.ts';

/** Each list shows at most this many rows, keeping the view under Slack's 100-block limit. */
const MAX_ROWS = 10;

const button = (actionId: string, text: string, value: string, style?: 'primary' | 'danger') => ({
  type: 'button' as const,
  action_id: actionId,
  text: { type: 'plain_text' as const, text },
  value,
  ...(style ? { style } : {}),
});

const row = (text: string, accessory: ReturnType<typeof button> | null): KnownBlock =>
  accessory ? { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3_000) }, accessory } : { type: 'section', text: { type: 'mrkdwn', text: truncate(text, 3_000) } };

export interface HomeData {
  grants: readonly GrantRecord[];
  requests: readonly RequestRecord[];
  awaiting: readonly RequestRecord[];
  /** Break-glass uses waiting for this person's review (only reviewers get any). */
  unreviewed?: readonly GrantRecord[];
  /** Ended grants waiting for this person's post-access review. */
  toReview?: readonly GrantRecord[];
}

export function homeView({ grants, requests, awaiting, unreviewed = [], toReview = [] }: HomeData): View {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: 'Your access' } }];
  const section = (title: string, items: readonly KnownBlock[][], empty: string, total: number) => {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `*${title}*` } });
    if (items.length === 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: empty }] });
    for (const item of items) blocks.push(...item);
    if (total > items.length) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${total - items.length} more; \`/access list\` shows all.` }] });
    blocks.push({ type: 'divider' });
  };

  section(
    'Active grants',
    grants.slice(0, MAX_ROWS).map((g) => [
      row(`${code(grantRef(g.id))} ${code(g.resource)} ${code(g.role)} until ${slackTime(g.expiresAt ?? 0)}${g.breakglass ? ' 🚨 break-glass' : ''}`, button(ACTION.revoke, 'Revoke', grantRef(g.id), 'danger')),
      { type: 'actions', elements: [button(ACTION.extend, 'Extend', grantRef(g.id))] },
    ]),
    'No active grants. Type `/access request` to ask for some.',
    grants.length,
  );
  section(
    'Your pending and scheduled requests',
    requests.slice(0, MAX_ROWS).map((r) => [row(`${code(requestRef(r.id))} ${resourceRole(r)} for ${formatDuration(r.durationMs)}${escalationTag(r)}${r.state === 'scheduled' ? ` — 🗓️ scheduled for ${windowText(r)}` : ''}`, button(ACTION.cancel, 'Cancel', requestRef(r.id)))]),
    'Nothing pending.',
    requests.length,
  );
  section(
    'Waiting for your approval',
    awaiting.slice(0, MAX_ROWS).map((r) => [
      row(`${code(requestRef(r.id))} ${mention(r.requester)} wants ${resourceRole(r)} for ${formatDuration(r.durationMs)}${escalationTag(r)}`, null),
      { type: 'actions', elements: [button(ACTION.approve, 'Approve', requestRef(r.id), 'primary'), button(ACTION.deny, 'Deny', requestRef(r.id), 'danger')] },
    ]),
    'Nothing is waiting for you.',
    awaiting.length,
  );
  if (unreviewed.length > 0) {
    section('Break-glass uses to review', unreviewed.slice(0, MAX_ROWS).map((g) => [acknowledgeRow(g)]), '', unreviewed.length);
  }
  if (toReview.length > 0) section('Ended grants to review', toReview.slice(0, MAX_ROWS).map(postReviewRows), '', toReview.length);
  return { type: 'home', blocks };
}
