// The core's Notifier port over the Web API: approval cards (posted, then updated in place), DMs, audit-channel lines.
import type { WebClient } from '@slack/web-api';
import { grantRef, requestRef } from '../core/ids.ts';
import type { AccessEvent, Logger, Notifier } from '../core/ports.ts';
import { formatDuration } from '../policy/duration.ts';
import type { LoadedPolicy } from '../policy/load.ts';
import type { Store } from '../store/repositories.ts';
import type { GrantRow, RequestRow } from '../store/schema.ts';
import { directMessage, requestCard, type SlackMessage } from './blocks.ts';
import type { SlackCall } from './slack-api.ts';
import { code, mention, slackTime } from './text.ts';

export interface SlackNotifierDeps {
  client: WebClient;
  call: SlackCall;
  store: Store;
  policy: () => LoadedPolicy;
  log: Logger;
}

export function createSlackNotifier(deps: SlackNotifierDeps): Notifier {
  const { client, call, store } = deps;
  const settings = () => deps.policy().policy.settings;
  const what = (r: Pick<RequestRow, 'resource' | 'role'>) => `${code(r.resource)} ${code(r.role)}`;

  const post = (channel: string, message: SlackMessage) =>
    call('chat.postMessage', () => client.chat.postMessage({ channel, text: message.text, blocks: message.blocks, unfurl_links: false }));
  const dm = async (user: string, text: string, quoted?: string | null): Promise<void> => {
    await post(user, directMessage(text, quoted));
  };
  /** Pings the admins group: its Slack user group, or its listed members. */
  const admins = (): string => {
    const { policy } = deps.policy();
    const group = policy.settings.admins === undefined ? undefined : policy.groups[policy.settings.admins];
    if (group?.slack_usergroup) return `<!subteam^${group.slack_usergroup}>`;
    return group?.users?.map(mention).join(' ') ?? 'Admins:';
  };
  const auditLine = async (text: string) => {
    const channel = settings().audit_channel;
    if (channel) await post(channel, directMessage(text));
  };

  const cardChannelFor = (request: RequestRow) => deps.policy().policy.resources[request.resource]?.approvals_channel ?? settings().approvals_channel;
  const cardOf = (request: RequestRow) => requestCard({ request, approvals: store.approvalsFor(request.id), grant: store.grantForRequest(request.id), ticketUrl: settings().ticket_url });

  async function postCard(request: RequestRow): Promise<void> {
    const channel = cardChannelFor(request);
    const res = await post(channel, cardOf(request));
    if (res.ts) store.setRequestCard(request.id, res.channel ?? channel, res.ts);
  }

  /** Re-renders the card from the stored request, so an update always shows the latest state. */
  async function updateCard(requestId: number): Promise<void> {
    const request = store.getRequest(requestId);
    if (!request?.cardChannel || !request.cardTs) return;
    const message = cardOf(request);
    await call('chat.update', () => client.chat.update({ channel: request.cardChannel as string, ts: request.cardTs as string, text: message.text, blocks: message.blocks }));
  }

  const grantLine = (g: GrantRow) => `${what(g)} (${grantRef(g.id)})`;

  async function handle(event: AccessEvent): Promise<void> {
    switch (event.type) {
      case 'request_refused':
        return;
      case 'request_pending':
        return postCard(event.request);
      case 'request_reminder': {
        const request = store.getRequest(event.request.id);
        if (!request?.cardChannel || !request.cardTs) return;
        const step = request.steps[request.currentStep];
        await call('chat.postMessage', () =>
          client.chat.postMessage({ channel: request.cardChannel as string, thread_ts: request.cardTs as string, text: `⏰ Reminder: ${code(requestRef(request.id))} from ${mention(request.requester)} is still waiting${step ? ` for ${code(step.from)}` : ''}.` }),
        );
        return;
      }
      case 'request_approval_recorded':
      case 'request_step_advanced':
        return updateCard(event.request.id);
      case 'request_approved':
        await updateCard(event.request.id);
        await dm(event.request.requester, `✅ ${mention(event.by)} approved your request ${code(requestRef(event.request.id))} for ${what(event.request)}.`);
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} approved by ${mention(event.by)}.`);
      case 'request_denied':
        await updateCard(event.request.id);
        await dm(event.request.requester, `⛔ ${mention(event.by)} denied your request ${code(requestRef(event.request.id))} for ${what(event.request)}${event.note ? ':' : '.'}`, event.note);
        return auditLine(`${code(requestRef(event.request.id))} ${what(event.request)} for ${mention(event.request.requester)} denied by ${mention(event.by)}.`);
      case 'request_cancelled':
        return updateCard(event.request.id);
      case 'request_timed_out':
        await updateCard(event.request.id);
        return dm(event.request.requester, `⌛ Nobody decided on your request ${code(requestRef(event.request.id))} for ${what(event.request)} within ${formatDuration(settings().request_timeout)}, so it timed out. Ask again, or ping the approvers.`);
      case 'request_failed':
        await updateCard(event.request.id);
        return dm(event.request.requester, `⚠️ Your request ${code(requestRef(event.request.id))} for ${what(event.request)} was approved, but granting it failed, so you have no access. Try again later, or tell your Sesame admins. The provider said:`, event.problem);
      case 'grant_activated':
        await updateCard(event.request.id);
        await dm(event.grant.user, `🔓 You have ${grantLine(event.grant)} until ${slackTime(event.grant.expiresAt ?? 0)}. End it early with \`/access revoke ${grantRef(event.grant.id)}\`.`, event.providerMessage);
        return auditLine(`${event.grant.breakglass ? '🚨 break-glass ' : ''}${grantLine(event.grant)} granted to ${mention(event.grant.user)} until ${slackTime(event.grant.expiresAt ?? 0)}.`);
      case 'grant_extended':
        await updateCard(event.request.id);
        return dm(event.grant.user, `⏩ ${grantLine(event.grant)} now lasts until ${slackTime(event.grant.expiresAt ?? 0)}.`);
      case 'grant_expiring':
        return dm(event.grant.user, `⏳ Your access ${grantLine(event.grant)} ends at ${slackTime(event.grant.expiresAt ?? 0)}. Need longer? \`/access extend ${grantRef(event.grant.id)} 30m\`.`);
      case 'grant_ended':
        await dm(event.grant.user, event.outcome === 'expired' ? `🔒 Your access ${grantLine(event.grant)} has ended.` : `🔒 Your access ${grantLine(event.grant)} was revoked by ${mention(event.by)}.`);
        return auditLine(`${grantLine(event.grant)} of ${mention(event.grant.user)} ${event.outcome}.`);
      case 'grant_revoke_failed':
        return auditLine(`🚨 ${admins()} Revoking ${grantLine(event.grant)} of ${mention(event.grant.user)} failed; Sesame keeps retrying. The provider said: ${code(event.problem)}`);
    }
  }

  return {
    notify: async (event) => {
      try {
        await handle(event);
      } catch (error) {
        deps.log.warn({ event: event.type, problem: error instanceof Error ? error.message : String(error) }, 'could not tell Slack');
      }
    },
  };
}
