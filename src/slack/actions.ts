// Buttons (Approve, Deny, Cancel, Revoke, Extend, Acknowledge) and the modal submissions; the acting user is always the signed payload's.
import type { App, ViewOutput } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { DomainError } from '../core/errors.ts';
import { grantRef, parseRef, requestRef } from '../core/ids.ts';
import { describeDurationError, parseDuration } from '../policy/duration.ts';
import { ACTION, ephemeral } from './blocks.ts';
import { homeView } from './home.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { explain } from './messages.ts';
import { describeOutcome } from './outcomes.ts';
import { registerReviewActions } from './review-actions.ts';
import { routeInteractions, type ActionArgs, type ButtonArgs } from './routes.ts';
import { parseStart } from './start-time.ts';
import { placeStart } from './time-zone.ts';
import { denyModal, extendModal, FIELD, requestModal, VIEW } from './views.ts';

/** Answers the clicker: ephemerally under the card, or by DM when the click came from App Home (no response_url). */
export async function tell(args: ActionArgs, text: string): Promise<void> {
  if ('response_url' in args.body && args.body.response_url) {
    await args.respond({ ...ephemeral(text), replace_original: false });
  } else {
    await args.client.chat.postMessage({ channel: args.body.user.id, text });
  }
}

export async function publishHome(client: WebClient, user: string, deps: ListenerDeps): Promise<void> {
  const { requests, grants } = await deps.access.overview(user);
  const [awaiting, unreviewed, toReview] = await Promise.all([deps.access.awaitingApprovalBy(user), deps.access.reviews.waitingFor(user), deps.access.reviews.post.waitingFor(user)]);
  await client.views.publish({ user_id: user, view: homeView({ grants, requests, awaiting, unreviewed, toReview }) });
}

export const fromHome = (args: ActionArgs) => args.body.container?.type === 'view';

export function registerActions(app: App, deps: ListenerDeps): void {
  const { access } = deps;
  const routes = routeInteractions(app, async (args) => {
    await args.ack();
    deps.log.warn({ actionId: args.action.action_id }, 'unknown action');
    await tell(args, 'That button is from something Sesame no longer knows, so nothing was changed. Type `/access help` to start again.');
  });
  const idFrom = (args: ButtonArgs, prefix: 'R' | 'G') => parseRef(prefix, args.action.value ?? '');
  const afterClick = async (args: ButtonArgs, error: DomainError | null) => {
    if (error) await tell(args, explain(error));
    if (fromHome(args)) await publishHome(args.client, args.body.user.id, deps);
  };

  routes.button(ACTION.approve, async (args) => {
    await args.ack();
    const id = idFrom(args, 'R');
    if (id === null) return tell(args, 'That button does not name a request; use `/access pending` instead.');
    const out = await access.approve(id, args.body.user.id);
    await afterClick(args, out.ok ? null : out.error);
  });

  routes.button(ACTION.deny, async (args) => {
    await args.ack();
    const id = idFrom(args, 'R');
    if (id === null) return tell(args, 'That button does not name a request; use `/access pending` instead.');
    const ready = await access.prepareDeny(id, args.body.user.id);
    if (!ready.ok) return afterClick(args, ready.error);
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: denyModal(requestRef(id)) });
  });

  routes.button(ACTION.cancel, async (args) => {
    await args.ack();
    const id = idFrom(args, 'R');
    const out = id === null ? null : await access.cancel(id, args.body.user.id);
    await afterClick(args, out === null ? { code: 'request_not_found', requestId: args.action.value ?? '?' } : out.ok ? null : out.error);
  });

  routes.button(ACTION.revoke, async (args) => {
    await args.ack();
    const id = idFrom(args, 'G');
    const out = id === null ? null : await access.revoke(id, args.body.user.id);
    await afterClick(args, out === null ? { code: 'grant_not_found', grantId: args.action.value ?? '?' } : out.ok ? null : out.error);
  });

  routes.button(ACTION.extend, async (args) => {
    await args.ack();
    const id = idFrom(args, 'G');
    if (id === null) return tell(args, 'That button does not name a grant; use `/access list` instead.');
    await args.client.views.open({ trigger_id: args.body.trigger_id, view: extendModal(grantRef(id)) });
  });

  routes.button(ACTION.acknowledge, async (args) => {
    await args.ack();
    const id = idFrom(args, 'G');
    const out = id === null ? null : await access.reviews.acknowledge(id, args.body.user.id);
    if (out?.ok && !fromHome(args)) await tell(args, `✅ Thanks: you acknowledged break-glass ${grantRef(out.value.id)}.`);
    await afterClick(args, out === null ? { code: 'grant_not_found', grantId: args.action.value ?? '?' } : out.ok ? null : out.error);
  });

  routes.view(VIEW.deny, async ({ ack, body, view }) => {
    const id = parseRef('R', view.private_metadata);
    const note = textOf(view, FIELD.note).trim() || null;
    const out = id === null ? null : await access.deny(id, body.user.id, note);
    if (out === null || !out.ok) {
      await ack({ response_action: 'errors', errors: { [FIELD.note.block]: out === null ? 'This form lost track of its request; close it and click Deny again.' : explain(out.error) } });
      return;
    }
    await ack();
  });

  routes.view(VIEW.extend, async ({ ack, body, view, client }) => {
    const id = parseRef('G', view.private_metadata);
    const duration = parseDuration(textOf(view, FIELD.duration));
    if (!duration.ok) return void (await ack({ response_action: 'errors', errors: { [FIELD.duration.block]: describeDurationError(duration.error) } }));
    if (id === null) return void (await ack({ response_action: 'errors', errors: { [FIELD.duration.block]: 'This form lost track of its grant; close it and click Extend again.' } }));
    const out = await access.extend(id, body.user.id, duration.value);
    if (!out.ok) return void (await ack({ response_action: 'errors', errors: { [FIELD.duration.block]: explain(out.error) } }));
    await ack();
    await client.chat.postMessage({ channel: body.user.id, text: describeOutcome(out.value) });
    await publishHome(client, body.user.id, deps);
  });

  routes.view(VIEW.request, async ({ ack, body, view, client }) => {
    const resource = selectedOf(view, FIELD.resource);
    const role = selectedOf(view, FIELD.role) ?? undefined;
    const durationText = textOf(view, FIELD.duration).trim();
    const reason = textOf(view, FIELD.reason).trim();
    if (!resource) return void (await ack({ response_action: 'errors', errors: { [FIELD.resource.block]: 'Choose the resource you need.' } }));
    const duration = durationText === '' ? null : parseDuration(durationText);
    if (duration && !duration.ok) return void (await ack({ response_action: 'errors', errors: { [FIELD.duration.block]: describeDurationError(duration.error) } }));
    if (!reason) return void (await ack({ response_action: 'errors', errors: { [FIELD.reason.block]: 'Say why you need it; approvers decide on this.' } }));
    // The same reading as `/access request … at <start>`, from the same words.
    const startWords = textOf(view, FIELD.start).trim().replace(/^at\s+/i, '').split(/\s+/).filter(Boolean);
    const spec = startWords.length === 0 ? null : parseStart(startWords);
    if (spec && (!spec.ok || spec.value.used !== startWords.length)) return void (await ack({ response_action: 'errors', errors: { [FIELD.start.block]: explain({ code: 'start_malformed', input: startWords.join(' ') }) } }));
    const start = spec?.ok ? await placeStart(spec.value.spec, client, body.user.id, deps.policy().policy) : null;
    const input = { requester: body.user.id, resource, role, duration: duration?.value, reason, startsAt: start?.startsAt };
    // Decide before closing the form, so a refusal shows on the field it concerns (and is audited like any refused request).
    const decision = await access.screen(input);
    if (decision.kind === 'refuse') return void (await ack({ response_action: 'errors', errors: { [blockFor(decision.error)]: explain(decision.error) } }));
    await ack();
    const out = await access.request(input);
    // A grant or a failure reaches the requester as the notifier's DM; only what it does not tell is said here.
    if (!out.ok || out.value.kind === 'pending' || start !== null) {
      await client.chat.postMessage({ channel: body.user.id, text: out.ok ? describeOutcome(out.value, { defaultDuration: duration === null, timeZone: start?.timeZone }) : explain(out.error) });
    }
  });

  // Choosing a resource in the request form narrows the role list to that resource's roles.
  routes.select(FIELD.resource.action, async ({ ack, body, action, client }) => {
    await ack();
    const view = body.view;
    if (!view || view.callback_id !== VIEW.request) return;
    const requestable = await access.requestable(body.user.id);
    await client.views.update({ view_id: view.id, hash: view.hash, view: requestModal(deps.policy().policy, requestable, action.selected_option.value) });
  });

  registerReviewActions(routes, deps);

  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab === 'home') await publishHome(client, event.user, deps);
  });
}

function blockFor(error: DomainError): string {
  if (error.code === 'unknown_role' || error.code === 'role_required') return FIELD.role.block;
  if (error.code.startsWith('duration_')) return FIELD.duration.block;
  if (error.code === 'start_in_past' || error.code === 'start_too_far') return FIELD.start.block;
  return FIELD.resource.block;
}

type Field = { block: string; action: string };
const valueOf = (view: ViewOutput, field: Field) => view.state.values[field.block]?.[field.action];
const textOf = (view: ViewOutput, field: Field): string => valueOf(view, field)?.value ?? '';
const selectedOf = (view: ViewOutput, field: Field): string | null => valueOf(view, field)?.selected_option?.value ?? null;

