// What Slack shows of an escalation: a ping of the new group in the card's thread, a DM to each of its members, card lines.
import { escalationGroupOf, hasEscalated } from '../core/escalation-rules.ts';
import { requestRef } from '../core/ids.ts';
import { formatDuration } from '../policy/duration.ts';
import type { Policy } from '../policy/schema.ts';
import type { RequestRecord } from '../core/records.ts';
import { code, mention, resourceRole, slackTime } from './text.ts';

/** DMs sent for one escalation at most: a large Slack user group is reached by the thread ping, not hundreds of DMs. */
export const MAX_ESCALATION_DMS = 50;

/** The group's Slack user group as one mention, else its listed members; the name in code style if it has neither. */
export function groupPing(policy: Policy, groupName: string): string {
  const group = policy.groups[groupName];
  if (group?.slack_usergroup) return `<!subteam^${group.slack_usergroup}>`;
  return group?.users && group.users.length > 0 ? group.users.map(mention).join(' ') : code(groupName);
}

const waited = (request: RequestRecord): string => {
  const after = request.steps[request.currentStep]?.escalate_after;
  return after === undefined ? 'too long' : formatDuration(after);
};

/** Posted in the card's thread: who is called in, and that both groups may now decide. */
export function escalationThreadText(request: RequestRecord, to: string, policy: Policy): string {
  const from = request.steps[request.currentStep]?.from ?? '';
  return `⏫ ${code(requestRef(request.id))} from ${mention(request.requester)} has waited ${waited(request)} for ${code(from)}, so it is escalated to ${groupPing(policy, to)}: anyone in ${code(from)} or ${code(to)} may now approve or deny it on the card above.`;
}

/** DM'd to each member of the group called in (never the requester). */
export function escalationDmText(request: RequestRecord, to: string): string {
  const from = request.steps[request.currentStep]?.from ?? '';
  const where = request.cardChannel ? ` on its card in <#${request.cardChannel}>` : '';
  return `⏫ Request ${code(requestRef(request.id))} from ${mention(request.requester)} for ${resourceRole(request)} was escalated to you (${code(to)}): nobody in ${code(from)} decided within ${waited(request)}. Approve or deny it${where}, or in Sesame's Home tab.`;
}

/** The card's note on escalation: who was called in, or who will be and when; null when the step never escalates. */
export function escalationCardNote(request: RequestRecord): string | null {
  const to = escalationGroupOf(request);
  if (request.state !== 'pending' || to === undefined) return null;
  if (hasEscalated(request)) return `⏫ Escalated to ${code(to)}: a member of either group may decide.`;
  return request.escalateAt === null ? null : `Escalates to ${code(to)} at ${slackTime(request.escalateAt)} if nobody decides.`;
}

/** A short tag for lists (App Home): that the step was escalated, and to whom. */
export function escalationTag(request: RequestRecord): string {
  const to = escalationGroupOf(request);
  return to !== undefined && hasEscalated(request) ? ` ⏫ escalated to ${code(to)}` : '';
}

export interface EscalationOutlets {
  policy: Policy;
  /** Posts in a message's thread. */
  reply(channel: string, threadTs: string, text: string): Promise<unknown>;
  dm(user: string, text: string): Promise<void>;
}

/** Pings the group in the card's thread (when the card was posted) and DMs its members; one failed DM stops no other. */
export async function announceEscalation(request: RequestRecord, to: string, members: readonly string[], out: EscalationOutlets): Promise<void> {
  if (request.cardChannel && request.cardTs) await out.reply(request.cardChannel, request.cardTs, escalationThreadText(request, to, out.policy)).catch(() => undefined);
  const text = escalationDmText(request, to);
  for (const member of members.slice(0, MAX_ESCALATION_DMS)) await out.dm(member, text).catch(() => undefined);
}
