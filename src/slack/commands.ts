// The /access slash command: ack first, then parse, call the core, and reply ephemerally.
import type { App, RespondFn, SlashCommand } from '@slack/bolt';
import pLimit from 'p-limit';
import type { WebClient } from '@slack/web-api';
import { grantRef, requestRef } from '../core/ids.ts';
import { describeBundle, isBundle } from '../policy/bundles.ts';
import { parseAccessCommand, type AccessCommand } from './command-parser.ts';
import { runRevokeAll, runUnblock } from './block-commands.ts';
import { awaitingMessage, ephemeral, helpMessage, overviewMessage } from './blocks.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { explain, RESTARTING_NOTHING_DONE } from './messages.ts';
import { describeDecision, describeOutcome } from './outcomes.ts';
import { code } from './text.ts';
import { postReviewRows } from './review-blocks.ts';
import { placeStart } from './time-zone.ts';
import { requestModal } from './views.ts';

interface CommandContext {
  user: string;
  channel: string;
  triggerId: string;
  respond: RespondFn;
  client: WebClient;
}

/**
 * How many commands are worked on at once after their ack. Under a burst the rest wait their turn, so the
 * acks of new commands (Slack gives up after 3 s) are not starved by the work of earlier ones.
 */
const COMMAND_WORK_CONCURRENCY = 8;

export interface CommandWork {
  /**
   * Shutdown has begun: every command waiting for a turn is answered now that Sesame is restarting and nothing was
   * done, and so is any that would have to wait from now on. Their turns may come after the process has gone, and
   * one cut off midway can leave a grant half made. A command with a turn free at once is worked on as usual.
   */
  refuseWaiting(): void;
}

export function registerCommands(app: App, deps: ListenerDeps): CommandWork {
  const work = pLimit(COMMAND_WORK_CONCURRENCY);
  const waiting = new Set<() => void>();
  let refusing = false;
  app.command('/access', async ({ ack, command, respond, client }) => {
    await ack();
    if (work.activeCount + work.pendingCount < COMMAND_WORK_CONCURRENCY) return work(() => handle(command, respond, client, deps));
    const restarting = async () => void (await respond(ephemeral(RESTARTING_NOTHING_DONE)));
    if (refusing) return restarting();
    let refuse: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (refuse = () => resolve(restarting())));
    waiting.add(refuse);
    // Whichever comes first: its turn (unless refused meanwhile), or the refusal, which does not wait for the turn.
    const inTurn = async () => {
      if (waiting.delete(refuse)) await handle(command, respond, client, deps);
    };
    await Promise.race([work(inTurn), refused]);
  });
  return {
    refuseWaiting() {
      refusing = true;
      for (const refuse of waiting) refuse();
      waiting.clear();
    },
  };
}

async function handle(command: SlashCommand, respond: RespondFn, client: WebClient, deps: ListenerDeps): Promise<void> {
  const { policy } = deps.policy();
  const parsed = parseAccessCommand(command.text ?? '', (resource) => (Object.hasOwn(policy.resources, resource) ? Object.keys(policy.resources[resource]?.roles ?? {}) : undefined));
  if (!parsed.ok) {
    await respond(ephemeral(explain(parsed.error)));
    return;
  }
  await run(parsed.value, { user: command.user_id, channel: command.channel_id, triggerId: command.trigger_id, respond, client }, deps);
}

async function run(cmd: AccessCommand, ctx: CommandContext, deps: ListenerDeps): Promise<void> {
  const { access } = deps;
  const reply = (text: string) => ctx.respond(ephemeral(text));
  switch (cmd.kind) {
    case 'help': {
      const { policy } = deps.policy();
      const names = await access.requestable(ctx.user);
      const resources = names.map((name) => ({ name, description: isBundle(policy, name) ? describeBundle(policy, name) : policy.resources[name]?.description, roles: Object.keys(policy.resources[name]?.roles ?? {}) }));
      await ctx.respond({ response_type: 'ephemeral', ...helpMessage(resources) });
      return;
    }
    case 'request_modal': {
      const view = requestModal(deps.policy().policy, await access.requestable(ctx.user));
      await ctx.client.views.open({ trigger_id: ctx.triggerId, view });
      return;
    }
    case 'request':
    case 'breakglass': {
      const start = cmd.start === undefined ? null : await placeStart(cmd.start, ctx.client, ctx.user, deps.policy().policy);
      const out = await access.request({ requester: ctx.user, resource: cmd.resource, role: cmd.role, duration: cmd.duration, reason: cmd.reason, breakglass: cmd.kind === 'breakglass', channelId: ctx.channel, startsAt: start?.startsAt });
      await reply(out.ok ? describeOutcome(out.value, { defaultDuration: cmd.duration === undefined, timeZone: start?.timeZone }) : explain(out.error));
      return;
    }
    case 'explain': {
      const start = cmd.start === undefined ? null : await placeStart(cmd.start, ctx.client, ctx.user, deps.policy().policy);
      const decision = await access.preview({ requester: ctx.user, resource: cmd.resource, role: cmd.role, duration: cmd.duration, reason: '', startsAt: start?.startsAt });
      await reply(describeDecision(decision));
      return;
    }
    case 'list': {
      const { requests, grants } = await access.overview(ctx.user);
      await ctx.respond({ response_type: 'ephemeral', ...overviewMessage(requests, grants) });
      return;
    }
    case 'pending': {
      const [requests, unreviewed, toReview] = await Promise.all([access.awaitingApprovalBy(ctx.user), access.reviews.waitingFor(ctx.user), access.reviews.post.waitingFor(ctx.user)]);
      await ctx.respond({ response_type: 'ephemeral', ...awaitingMessage(requests, unreviewed, toReview.map(postReviewRows)) });
      return;
    }
    case 'cancel': {
      const out = await access.cancel(cmd.requestId, ctx.user);
      await reply(out.ok ? `🚫 Request ${code(requestRef(cmd.requestId))} is cancelled.` : explain(out.error));
      return;
    }
    case 'revoke': {
      const out = await access.revoke(cmd.grantId, ctx.user);
      if (!out.ok) return void (await reply(explain(out.error)));
      const ended = out.value;
      await reply(
        ended.kind === 'ended'
          ? `🔒 ${code(grantRef(cmd.grantId))} is revoked.`
          : ended.kind === 'revoke_failed'
            ? `⚠️ Revoking ${code(grantRef(cmd.grantId))} failed (${code(ended.problem)}); Sesame keeps trying and has alerted the admins.`
            : `${code(grantRef(cmd.grantId))} had already ended.`,
      );
      return;
    }
    case 'revoke_all':
      return void (await reply(await runRevokeAll(deps, ctx.client, ctx.user, cmd.user, cmd.reason)));
    case 'unblock':
      return void (await reply(await runUnblock(deps, ctx.user, cmd.user)));
    case 'extend': {
      const out = await access.extend(cmd.grantId, ctx.user, cmd.duration);
      await reply(out.ok ? describeOutcome(out.value) : explain(out.error));
      return;
    }
  }
}
