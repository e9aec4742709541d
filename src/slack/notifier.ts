// The core's Notifier port over the Web API: approval cards (posted, then updated in place), DMs, audit-channel lines.
import type { WebClient } from '@slack/web-api';
import pLimit from 'p-limit';
import { grantRef, requestRef } from '../core/ids.ts';
import { currentStep } from '../core/lifecycle.ts';
import { reviewGroupOf } from '../core/breakglass-review.ts';
import type { AccessEvent, Logger, Notifier } from '../core/ports.ts';
import { formatDuration } from '../policy/duration.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import type { StorePort } from '../core/store-port.ts';
import type { ApprovalRecord, GrantRecord, RequestRecord } from '../core/records.ts';
import { directMessage, requestCard, windowText, type SlackMessage } from './blocks.ts';
import { breakglassAlert, breakglassAnnouncement, reviewCard, reviewReminder } from './breakglass-blocks.ts';
import { announceEscalation } from './escalation-notice.ts';
import { createReviewNotices } from './review-notices.ts';
import type { SlackCall } from './slack-api.ts';
import { stepDeciders } from './step-text.ts';
import { code, mention, resourceRole, SECTION_LIMIT, slackTime } from './text.ts';

export interface SlackNotifierDeps {
  client: WebClient;
  call: SlackCall;
  store: StorePort;
  policy: () => LoadedPolicy;
  log: Logger;
}

const AUDIT_BATCH_MS = 1_000;
/** Requests whose Slack messages are being sent at once; the others wait their turn. */
const NOTIFY_CONCURRENCY = 8;

/** Over-the-limit break-glass attempts alert security once per person per this long, not on every try. */
const RATE_LIMIT_ALERT_EVERY_MS = 3_600_000;

export function createSlackNotifier(deps: SlackNotifierDeps): Notifier {
  const { client, call, store } = deps;
  const settings = () => deps.policy().policy.settings;
  const what = resourceRole;

  const post = (channel: string, message: SlackMessage) =>
    call('chat.postMessage', () => client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }));
  const dm = async (user: string, text: string, quoted?: string | null): Promise<void> => {
    await post(user, directMessage(text, quoted));
  };
  /** Pings a policy group: its Slack user group, or its listed members. */
  const ping = (groupName: string | undefined, fallback: string): string => {
    const group = groupName === undefined ? undefined : deps.policy().policy.groups[groupName];
    if (group?.slack_usergroup) return `<!subteam^${group.slack_usergroup}>`;
    return group?.users?.map(mention).join(' ') ?? fallback;
  };
  const admins = () => ping(settings().admins, 'Admins:');
  const reviewers = () => ping(reviewGroupOf(deps.policy().policy), 'Reviewers');
  const notifyChannels = () => deps.policy().policy.breakglass?.notify ?? [];
  /** The review card goes to the first notify channel, else to the approvals channel. */
  const reviewChannel = () => notifyChannels()[0] ?? settings().approvals_channel;
  const lastRateAlert = new Map<string, number>();
  const update = (channel: string, ts: string, message: SlackMessage) => call('chat.update', () => client.chat.update({ channel, ts, text: message.text, blocks: message.blocks }));
  const reviewNotice = createReviewNotices({ store, policy: deps.policy, post, update, ping, auditLine: (text) => auditLine(text) });
  /**
   * Posts to each channel on its own, so one the bot was not invited to does not silence the others
   * (`call` has already logged and counted the failure).
   */
  const postEach = async (channels: readonly string[], message: SlackMessage) => {
    for (const channel of channels) await post(channel, message).catch(() => undefined);
  };
  // Audit-channel lines are gathered for a second and posted together: Slack allows about one message per
  // second per channel, and a busy Sesame decides far more often than that.
  let auditLines: string[] = [];
  let auditTimer: NodeJS.Timeout | null = null;
  const flushAuditLines = async () => {
    if (auditTimer) clearTimeout(auditTimer);
    auditTimer = null;
    const channel = settings().audit_channel;
    // As few messages as fit: lines joined while the text stays within one section.
    const messages: string[] = [];
    for (const line of auditLines) {
      const last = messages.at(-1);
      if (last !== undefined && last.length + 1 + line.length <= SECTION_LIMIT) messages[messages.length - 1] = `${last}\n${line}`;
      else messages.push(line);
    }
    auditLines = [];
    if (!channel) return;
    for (const text of messages) await post(channel, directMessage(text)).catch(() => undefined); // `call` has logged it
  };
  const auditLine = async (text: string) => {
    if (!settings().audit_channel) return;
    auditLines.push(text);
    auditTimer ??= setTimeout(() => void flushAuditLines(), AUDIT_BATCH_MS);
    auditTimer.unref();
  };

  const cardChannelFor = (request: RequestRecord) => deps.policy().policy.resources[request.resource]?.approvals_channel ?? settings().approvals_channel;
  const cardOf = async (request: RequestRecord) => {
    const grant = await store.grantForRequest(request.id);
    // A break-glass request's card is its review card.
    if (request.breakglass && grant) return reviewCard(request, grant, reviewers());
    // A bundle's card lists each member's grant instead of naming one.
    const grants = request.bundleMembers === null ? undefined : await store.grantsOfRequest(request.id);
    return requestCard({ request, approvals: await store.approvalsFor(request.id), grant: grants ? null : grant, grants, ticketUrl: settings().ticket_url });
  };

  async function postCard(request: RequestRecord): Promise<void> {
    const channel = cardChannelFor(request);
    const res = await post(channel, await cardOf(request));
    if (res.ts) await store.setRequestCard(request.id, res.channel ?? channel, res.ts);
  }

  /** Re-renders the card from the stored request, so an update always shows the latest state. */
  async function updateCard(requestId: number): Promise<void> {
    const request = await store.getRequest(requestId);
    if (!request?.cardChannel || !request.cardTs) return;
    const message = await cardOf(request);
    await call('chat.update', () => client.chat.update({ channel: request.cardChannel as string, ts: request.cardTs as string, text: message.text, blocks: message.blocks }));
  }

  const grantLine = (g: GrantRecord) => `${what(g)} (${grantRef(g.id)})`;

  /**
   * The grant's DM: the provider's message (credentials, perhaps) is in the blocks only, never in the `text` that
   * phones show in notifications, and where it went is stored so the grant's end deletes it, even after a restart.
   */
  async function grantDm(grant: GrantRecord, text: string, providerMessage: string | null): Promise<void> {
    if (providerMessage === null) return dm(grant.user, text);
    const res = await post(grant.user, { ...directMessage(text, providerMessage), text: `${text} The details are in this message.` });
    if (res.ts) await store.setGrantDm(grant.id, res.channel ?? grant.user, res.ts);
  }

  async function deleteGrantDm(grantId: number): Promise<void> {
    const grant = await store.getGrant(grantId); // the stored row: the event's copy may predate the DM
    if (!grant?.dmChannel || !grant.dmTs) return;
    const { dmChannel: channel, dmTs: ts } = grant;
    await call('chat.delete', () => client.chat.delete({ channel, ts }));
    await store.setGrantDm(grant.id, null, null);
  }

  /**
   * Whoever ended their own grant was told by the command's reply (or saw it leave their Home tab), so no DM echoes
   * it; a bundle's other members, ended along with the one named, are still told one by one.
   */
  async function endedByHolderAlone(grant: GrantRecord, by: string): Promise<boolean> {
    return by === grant.user && (await store.getRequest(grant.requestId))?.bundleMembers == null;
  }

  /** Incident channel (visible to all), the notify channels, and the review card. */
  async function announceBreakglass(request: RequestRecord, grant: GrantRecord): Promise<void> {
    if (request.channelId) await postEach([request.channelId], breakglassAnnouncement(request, grant));
    const review = reviewChannel();
    await postEach(notifyChannels().filter((c) => c !== review), breakglassAlert(request, grant));
    const res = await post(review, reviewCard(request, grant, reviewers()));
    if (res.ts) await store.setRequestCard(request.id, res.channel ?? review, res.ts);
  }

  async function alertRateLimited(requester: string, resource: string): Promise<void> {
    const now = Date.now();
    if (now - (lastRateAlert.get(requester) ?? 0) < RATE_LIMIT_ALERT_EVERY_MS) return;
    lastRateAlert.set(requester, now);
    const max = deps.policy().policy.breakglass?.max_per_hour ?? 0;
    const channels = notifyChannels().length > 0 ? notifyChannels() : [settings().audit_channel ?? settings().approvals_channel];
    await postEach(channels, directMessage(`🚨 ${reviewers()} ${mention(requester)} tried to break glass on ${code(resource)} more than ${max} times within an hour; Sesame refused. Every attempt is in the audit log (\`request.refused\`).`));
  }

  async function handle(event: AccessEvent): Promise<void> {
    switch (event.type) {
      case 'request_refused':
        if (event.code === 'breakglass_rate_limited') await alertRateLimited(event.requester, event.resource);
        return;
      case 'request_pending':
        return postCard(event.request);
      case 'request_reminder': {
        const request = await store.getRequest(event.request.id);
        if (!request?.cardChannel || !request.cardTs) return;
        const step = request.steps[request.currentStep];
        await call('chat.postMessage', () =>
          client.chat.postMessage({ channel: request.cardChannel as string, thread_ts: request.cardTs as string, text: `⏰ Reminder: ${code(requestRef(request.id))} from ${mention(request.requester)} is still waiting${step ? ` for ${stepDeciders(step)}` : ''}.` }),
        );
        return;
      }
      case 'request_escalated':
        await updateCard(event.request.id);
        return announceEscalation(await store.getRequest(event.request.id) ?? event.request, event.to, event.members, { policy: deps.policy().policy, dm, reply: (channel, thread_ts, text) => call('chat.postMessage', () => client.chat.postMessage({ channel, thread_ts, text })) });
      case 'request_approval_recorded':
      case 'request_step_advanced':
        await updateCard(event.request.id);
        return dm(event.request.requester, progressLine(event.request, event.by, await store.approvalsFor(event.request.id)));
      case 'request_approved':
        await updateCard(event.request.id);
        await dm(event.request.requester, `✅ ${mention(event.by)} approved your request ${code(requestRef(event.request.id))} for ${what(event.request)}.`);
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} approved by ${mention(event.by)}.`);
      case 'request_scheduled':
        await updateCard(event.request.id);
        await dm(event.request.requester, `🗓️ Your request ${code(requestRef(event.request.id))} for ${what(event.request)} is approved for ${windowText(event.request)}; the access starts then. \`/access cancel ${requestRef(event.request.id)}\` withdraws it before it starts.`);
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} scheduled for ${windowText(event.request)}.`);
      case 'request_denied':
        await updateCard(event.request.id);
        await dm(event.request.requester, `⛔ ${mention(event.by)} denied your request ${code(requestRef(event.request.id))} for ${what(event.request)}${event.note ? ':' : '.'}`, event.note);
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} denied by ${mention(event.by)}.`);
      case 'request_cancelled':
        await updateCard(event.request.id);
        // Their last word from Sesame was an approval; without this they would wait for a grant that never comes.
        if (event.approverBlocked) return dm(event.request.requester, `🚫 Your request ${code(requestRef(event.request.id))} for ${what(event.request)} was cancelled, not granted: an admin blocked someone who approved a step of it (\`/access revoke-all\`), so that approval no longer counts. Ask again and someone else can approve it.`);
        if (event.request.decidedBy !== 'sesame') return;
        await dm(event.request.requester, `🚫 Your request ${code(requestRef(event.request.id))} for ${what(event.request)} was cancelled, not granted, because the policy in force no longer allows it:`, event.request.decisionNote ?? '');
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} cancelled: the policy in force no longer allows it.`);
      case 'request_timed_out':
        await updateCard(event.request.id);
        return dm(event.request.requester, `⌛ Nobody decided on your request ${code(requestRef(event.request.id))} for ${what(event.request)} within ${formatDuration(settings().request_timeout)}, so it timed out. Ask again, or ping the approvers.`);
      case 'request_failed':
        await updateCard(event.request.id);
        await dm(event.request.requester, `⚠️ Your request ${code(requestRef(event.request.id))} for ${what(event.request)} was approved, but granting it failed, so you have no access. Try again later, or tell your Sesame admins. What went wrong:`, event.problem);
        // Not always the provider's answer: a policy change, a revoke-all, or Sesame stopping mid-grant fail requests too.
        return auditLine(`⚠️ ${admins()} Granting ${code(requestRef(event.request.id))} ${what(event.request)} to ${mention(event.request.requester)} failed: ${code(event.problem)}`);
      case 'grant_activated':
        await updateCard(event.request.id);
        await grantDm(event.grant, `🔓 You have ${grantLine(event.grant)} until ${slackTime(event.grant.expiresAt ?? 0)}. End it early with \`/access revoke ${grantRef(event.grant.id)}\`.`, event.providerMessage);
        await auditLine(`${event.grant.breakglass ? '🚨 break-glass ' : ''}${grantLine(event.grant)} granted to ${mention(event.grant.user)} until ${slackTime(event.grant.expiresAt ?? 0)}.`);
        if (event.grant.breakglass) await announceBreakglass(event.request, event.grant);
        return;
      case 'grant_extended':
        await updateCard(event.request.id);
        return dm(event.grant.user, `⏩ ${grantLine(event.grant)} now lasts until ${slackTime(event.grant.expiresAt ?? 0)}.`);
      case 'grant_expiring':
        return dm(event.grant.user, `⏳ Your access ${grantLine(event.grant)} ends at ${slackTime(event.grant.expiresAt ?? 0)}. Need longer? \`/access extend ${grantRef(event.grant.id)} 30m\`.`);
      case 'grant_ended':
        await deleteGrantDm(event.grant.id).catch(() => undefined); // `call` logged it; the end is still told
        if (event.grant.breakglass) await updateCard(event.grant.requestId);
        if (event.outcome === 'expired') await dm(event.grant.user, `🔒 Your access ${grantLine(event.grant)} has ended.`);
        else if (!(await endedByHolderAlone(event.grant, event.by))) await dm(event.grant.user, `🔒 Your access ${grantLine(event.grant)} was revoked by ${mention(event.by)}.`);
        return auditLine(`${grantLine(event.grant)} of ${mention(event.grant.user)} ${event.outcome}.`);
      case 'grant_revoke_failed':
        return auditLine(`🚨 ${admins()} Revoking ${grantLine(event.grant)} of ${mention(event.grant.user)} failed; Sesame keeps retrying. The provider said: ${code(event.problem)}`);
      case 'grant_cleanup_pending':
        return auditLine(`🧹 ${admins()} ${grantLine(event.grant)} of ${mention(event.grant.user)} is ${event.grant.state}: the access is gone, but its clean-up is not finished. Sesame retries on every sweep; fix what the provider names, or finish the clean-up by hand. The provider said: ${code(event.problem)}`);
      case 'grant_cleaned_up':
        return auditLine(`🧹 The clean-up of ${grantLine(event.grant)} is finished.`);
      case 'breakglass_reviewed':
      case 'review_reopened':
        if (event.type === 'review_reopened' && !event.grant.breakglass) return reviewNotice(event);
        await updateCard(event.grant.requestId);
        return auditLine(event.type === 'breakglass_reviewed' ? `Break-glass ${grantLine(event.grant)} of ${mention(event.grant.user)} acknowledged by ${mention(event.by)}.` : `🔎 Break-glass ${grantLine(event.grant)} of ${mention(event.grant.user)} waits for review again: ${mention(event.reviewer)}, who acknowledged it, was blocked (/access revoke-all).`);
      case 'breakglass_review_reminder':
        await post(reviewChannel(), reviewReminder(event.grants, reviewers()));
        return;
      case 'grant_review_requested':
      case 'grant_reviewed':
      case 'grant_review_reminder':
        return reviewNotice(event);
    }
  }

  /**
   * Slack is told in the background, so a burst of revocations is not slowed by its DMs: events of one request
   * stay in order (a card is posted before it is updated), and at most a few requests talk to Slack at once.
   */
  const slackSlots = pLimit(NOTIFY_CONCURRENCY);
  const perRequest = new Map<string, Promise<void>>();
  const deliver = async (event: AccessEvent) => {
    try {
      await handle(event);
    } catch (error) {
      deps.log.warn({ event: event.type, problem: error instanceof Error ? error.message : String(error) }, 'could not tell Slack');
    }
  };

  return {
    notify: async (event) => {
      const key = orderKeyOf(event);
      const next = (perRequest.get(key) ?? Promise.resolve()).then(() => slackSlots(() => deliver(event)));
      perRequest.set(key, next);
      void next.then(() => perRequest.get(key) === next && perRequest.delete(key));
    },
    close: async () => {
      while (perRequest.size > 0) await Promise.all([...perRequest.values()]);
      await flushAuditLines();
    },
  };
}

/**
 * Tells a requester where their request stands after an approval that did not finish it ("1 of 2"). Counted up to
 * this approver's own, since the DM may go out after later clicks were already recorded.
 */
function progressLine(request: RequestRecord, by: string, approvals: readonly ApprovalRecord[]): string {
  const head = `👍 ${mention(by)} approved your request ${code(requestRef(request.id))} for ${resourceRole(request)}`;
  const step = currentStep(request);
  if (!step) return `${head}.`;
  const stepOf = request.steps.length > 1 ? ` (step ${step.index + 1} of ${request.steps.length})` : '';
  const inStep = approvals.filter((a) => a.step === step.index);
  const mine = inStep.findIndex((a) => a.approver === by);
  if (mine < 0) return `${head}; it now waits for ${stepDeciders(step)}${stepOf}.`;
  const count = Math.min(mine + 1, step.count);
  return `${head}: ${count} of ${step.count} from ${stepDeciders(step)}${stepOf}; waiting for ${step.count - count} more.`;
}

/** Events about one request (its card, its grant) are delivered in the order they happened. */
function orderKeyOf(event: AccessEvent): string {
  if ('request' in event) return `R${event.request.id}`;
  if ('grant' in event) return `R${event.grant.requestId}`;
  return event.type === 'request_refused' ? `refused:${event.requester}` : event.type;
}
