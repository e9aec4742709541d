// Pure Block Kit for break-glass: the announcement in the incident channel, the alert, and the review card.
import type { KnownBlock } from '@slack/types';
import { grantRef } from '../core/ids.ts';
import type { GrantRecord, RequestRecord } from '../core/records.ts';
import { ACTION, context, mrkdwn, reasonBlock, type SlackMessage } from './blocks.ts';
import { code, escapeMrkdwn, mention, plural, resourceRole, slackTime, truncate } from './text.ts';

const what = resourceRole;
const where = (request: RequestRecord) => (request.channelId ? ` in <#${request.channelId}>` : '');

/** Visible to the whole incident channel: who broke glass, on what, until when, and why. */
export function breakglassAnnouncement(request: RequestRecord, grant: GrantRecord): SlackMessage {
  const line = `🚨 ${mention(grant.user)} broke glass: ${what(grant)} until ${slackTime(grant.expiresAt ?? 0)} (${code(grantRef(grant.id))}). Security will review it.`;
  return { text: `${mention(grant.user)} broke glass: ${grant.resource} ${grant.role} until ${new Date(grant.expiresAt ?? 0).toISOString()}. Reason: ${truncate(request.reason, 300)}`, blocks: [mrkdwn(line), reasonBlock(request.reason)] };
}

/** For the notify channels: the same facts, and where it happened. */
export function breakglassAlert(request: RequestRecord, grant: GrantRecord): SlackMessage {
  const line = `🚨 Break-glass${where(request)}: ${mention(grant.user)} has ${what(grant)} until ${slackTime(grant.expiresAt ?? 0)} (${code(grantRef(grant.id))}).`;
  return { text: `Break-glass: ${mention(grant.user)} has ${grant.resource} ${grant.role} (${grantRef(grant.id)})`, blocks: [mrkdwn(line), reasonBlock(request.reason)] };
}

/** The card the review group acknowledges; after review it says who did, and the button is gone. */
export function reviewCard(request: RequestRecord, grant: GrantRecord, reviewers: string): SlackMessage {
  const id = grantRef(grant.id);
  const blocks: KnownBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: `🚨 Break-glass ${id} — review` } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Who*\n${mention(grant.user)}` },
        { type: 'mrkdwn', text: `*What*\n${what(grant)}` },
        { type: 'mrkdwn', text: `*From*\n${slackTime(grant.startsAt ?? grant.createdAt)}${where(request)}` },
        { type: 'mrkdwn', text: `*Until*\n${slackTime(grant.expiresAt ?? 0)} (now ${escapeMrkdwn(grant.state.replace('_', ' '))})` },
      ],
    },
    reasonBlock(request.reason),
  ];
  if (grant.reviewedBy === null) {
    blocks.push(context(`${reviewers}: please look at this use and acknowledge it.`));
    blocks.push({ type: 'actions', block_id: `review_${id}`, elements: [{ type: 'button', action_id: ACTION.acknowledge, text: { type: 'plain_text', text: 'Acknowledge' }, style: 'primary', value: id }] });
  } else {
    blocks.push(context(`✅ Acknowledged by ${mention(grant.reviewedBy)} at ${slackTime(grant.reviewedAt ?? 0)}.`));
  }
  return { text: `Break-glass ${id} by ${mention(grant.user)}: ${grant.resource} ${grant.role} (${grant.reviewedBy ? 'reviewed' : 'waiting for review'})`, blocks };
}

export function reviewReminder(grants: readonly GrantRecord[], reviewers: string): SlackMessage {
  const lines = grants.slice(0, 20).map((g) => `• ${code(grantRef(g.id))} ${mention(g.user)} ${what(g)} on ${slackTime(g.startsAt ?? g.createdAt)}`);
  if (grants.length > 20) lines.push(`…and ${grants.length - 20} more.`);
  const waiting = plural(grants.length, 'break-glass use');
  return { text: `${waiting} still waiting for review`, blocks: [mrkdwn(`⏰ ${reviewers}: ${waiting} still waiting for review. \`/access pending\` lists them with their Acknowledge buttons.\n${lines.join('\n')}`)] };
}
