// The notifier's part for post-access review: the card to the reviewers, its update, the Flag alert, the daily reminder.
import { grantRef } from '../core/ids.ts';
import { reviewersOf } from '../core/post-review.ts';
import type { AccessEvent } from '../core/ports.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import type { StorePort } from '../core/store-port.ts';
import type { GrantRecord } from '../core/records.ts';
import { directMessage, type SlackMessage } from './blocks.ts';
import { postReviewCard, postReviewReminder } from './review-blocks.ts';
import { code, mention, resourceRole } from './text.ts';

export type ReviewEvent = Extract<AccessEvent, { type: 'grant_review_requested' | 'grant_reviewed' | 'grant_review_reminder' | 'review_reopened' }>;

export interface ReviewNoticeDeps {
  store: StorePort;
  policy: () => LoadedPolicy;
  post: (channel: string, message: SlackMessage) => Promise<{ ts?: string | undefined; channel?: string | undefined }>;
  update: (channel: string, ts: string, message: SlackMessage) => Promise<unknown>;
  /** Pings a policy group: its Slack user group, or its listed members. */
  ping: (group: string | undefined, fallback: string) => string;
  auditLine: (text: string) => Promise<void>;
}

export function createReviewNotices(deps: ReviewNoticeDeps): (event: ReviewEvent) => Promise<void> {
  const settings = () => deps.policy().policy.settings;
  /** The review card goes where the grant's request card went: the resource's approvals channel, else the default one. */
  const channelOf = (g: GrantRecord) => deps.policy().policy.resources[g.resource]?.approvals_channel ?? settings().approvals_channel;
  const reviewersText = (g: GrantRecord) => {
    const { group, leads } = reviewersOf(g);
    return group === null ? leads.map(mention).join(' ') : deps.ping(group, code(group));
  };
  const cardOf = async (g: GrantRecord): Promise<SlackMessage | null> => {
    const request = await deps.store.getRequest(g.requestId);
    return request === undefined ? null : postReviewCard(request, g, await deps.store.approvalsFor(request.id), reviewersText(g));
  };

  return async (event) => {
    switch (event.type) {
      case 'grant_review_requested': {
        const card = await cardOf(event.grant);
        if (card === null) return;
        const channel = channelOf(event.grant);
        const res = await deps.post(channel, card);
        if (res.ts) await deps.store.reviews.setReviewCard(event.grant.id, res.channel ?? channel, res.ts);
        return;
      }
      case 'grant_reviewed': {
        const grant = await deps.store.getGrant(event.grant.id) ?? event.grant;
        const card = await cardOf(grant);
        if (card !== null && grant.reviewCardChannel && grant.reviewCardTs) await deps.update(grant.reviewCardChannel, grant.reviewCardTs, card);
        const what = `${resourceRole(grant)} (${grantRef(grant.id)}) of ${mention(grant.user)}`;
        if (grant.reviewVerdict !== 'flagged') return deps.auditLine(`🔎 ${what} looks right to ${mention(event.by)}.`);
        // A flag is an alert, not a line in the batch: it goes out at once, to the audit channel (else the approvals channel).
        const admins = deps.ping(settings().admins, 'Admins:');
        await deps.post(settings().audit_channel ?? settings().approvals_channel, directMessage(`🚩 ${admins} ${mention(event.by)} flagged ${what}:`, grant.reviewNote));
        return;
      }
      case 'review_reopened': {
        const grant = await deps.store.getGrant(event.grant.id) ?? event.grant;
        const card = await cardOf(grant);
        if (card !== null && grant.reviewCardChannel && grant.reviewCardTs) await deps.update(grant.reviewCardChannel, grant.reviewCardTs, card);
        return deps.auditLine(`🔎 The review of ${resourceRole(grant)} (${grantRef(grant.id)}) of ${mention(grant.user)} is open again: ${mention(event.reviewer)}, who gave it, was blocked (/access revoke-all).`);
      }
      case 'grant_review_reminder': {
        const byChannel = new Map<string, GrantRecord[]>();
        for (const g of event.grants) {
          const channel = g.reviewCardChannel ?? channelOf(g);
          byChannel.set(channel, [...(byChannel.get(channel) ?? []), g]);
        }
        for (const [channel, grants] of byChannel) await deps.post(channel, postReviewReminder(grants, reviewersText)).catch(() => undefined);
        return;
      }
    }
  };
}
