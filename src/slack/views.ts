// Pure modal builders: the request form, the deny-reason form and the extend form, with the ids their handlers read.
import type { KnownBlock, View } from '@slack/types';
import { describeBundle, isBundle } from '../policy/bundles.ts';
import type { Policy } from '../policy/schema.ts';

export const VIEW = { request: 'request_form', deny: 'deny_reason', extend: 'extend_form' } as const;

/** block_id / action_id pairs of the form inputs, so handlers and `response_action: errors` agree. */
export const FIELD = {
  resource: { block: 'resource', action: 'resource_value' },
  role: { block: 'role', action: 'role_value' },
  duration: { block: 'duration', action: 'duration_value' },
  start: { block: 'start', action: 'start_value' },
  reason: { block: 'reason', action: 'reason_value' },
  note: { block: 'note', action: 'note_value' },
} as const;

/** Slack allows 100 options in a static select. */
const MAX_OPTIONS = 100;

const option = (text: string, value = text) => ({ text: { type: 'plain_text' as const, text: text.slice(0, 75) }, value: value.slice(0, 150) });

/**
 * The request form. Until a resource is chosen there is no role list; choosing one (a `block_actions` on the
 * resource select) rebuilds the form with that resource's roles only, and none when it has just one.
 */
export function requestModal(policy: Policy, requestable: readonly string[], chosen?: string): View {
  const resources = requestable.slice(0, MAX_OPTIONS);
  const descriptionOf = (name: string) => (isBundle(policy, name) ? describeBundle(policy, name) : policy.resources[name]?.description);
  const labelOf = (name: string) => (descriptionOf(name) ? `${name} — ${descriptionOf(name)}` : name);
  const picked = chosen !== undefined && resources.includes(chosen) ? chosen : undefined;
  const roles = picked === undefined ? [] : Object.keys(policy.resources[picked]?.roles ?? {}).slice(0, MAX_OPTIONS);
  const roleBlock: KnownBlock =
    roles.length > 1
      ? {
          type: 'input',
          block_id: FIELD.role.block,
          label: { type: 'plain_text', text: 'Role' },
          element: { type: 'static_select', action_id: FIELD.role.action, placeholder: { type: 'plain_text', text: `Roles of ${picked}` }, options: roles.map((r) => option(r)) },
        }
      : { type: 'context', block_id: FIELD.role.block, elements: [{ type: 'mrkdwn', text: roles.length === 1 ? `Role: *${roles[0]}* (the only one)` : picked !== undefined && isBundle(policy, picked) ? `A ${describeBundle(policy, picked)}; requested and granted as a whole, without a role.` : 'The roles appear once you choose a resource.' }] };
  return {
    type: 'modal',
    callback_id: VIEW.request,
    title: { type: 'plain_text', text: 'Request access' },
    submit: { type: 'plain_text', text: 'Request' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.resource.block,
        dispatch_action: true,
        label: { type: 'plain_text', text: 'Resource' },
        element: {
          type: 'static_select',
          action_id: FIELD.resource.action,
          placeholder: { type: 'plain_text', text: 'What do you need?' },
          options: resources.map((name) => option(labelOf(name), name)),
          ...(picked === undefined ? {} : { initial_option: option(labelOf(picked), picked) }),
        },
      },
      roleBlock,
      {
        type: 'input',
        block_id: FIELD.duration.block,
        optional: true,
        label: { type: 'plain_text', text: 'Duration' },
        hint: { type: 'plain_text', text: 'Like 30m, 2h, 1h30m or 90min. Empty: the default for this resource.' },
        element: { type: 'plain_text_input', action_id: FIELD.duration.action, placeholder: { type: 'plain_text', text: '1h' }, max_length: 20 },
      },
      {
        type: 'input',
        block_id: FIELD.start.block,
        optional: true,
        label: { type: 'plain_text', text: 'Starts at' },
        hint: { type: 'plain_text', text: 'Like 14:00, tomorrow 09:00 or 2026-12-03 14:00, in your Slack time zone. Empty: now.' },
        element: { type: 'plain_text_input', action_id: FIELD.start.action, placeholder: { type: 'plain_text', text: 'tomorrow 09:00' }, max_length: 40 },
      },
      {
        type: 'input',
        block_id: FIELD.reason.block,
        label: { type: 'plain_text', text: 'Reason' },
        hint: { type: 'plain_text', text: 'Mention the ticket (e.g. INC-42); it may speed things up.' },
        element: { type: 'plain_text_input', action_id: FIELD.reason.action, multiline: true, max_length: 1_000 },
      },
    ],
  };
}

export function denyModal(requestRef: string): View {
  return {
    type: 'modal',
    callback_id: VIEW.deny,
    private_metadata: requestRef,
    title: { type: 'plain_text', text: `Deny ${requestRef}` },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Back' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.note.block,
        optional: true,
        label: { type: 'plain_text', text: 'Reason (shown to the requester)' },
        element: { type: 'plain_text_input', action_id: FIELD.note.action, multiline: true, max_length: 1_000 },
      },
    ],
  };
}

export function extendModal(grantRef: string): View {
  return {
    type: 'modal',
    callback_id: VIEW.extend,
    private_metadata: grantRef,
    title: { type: 'plain_text', text: `Extend ${grantRef}` },
    submit: { type: 'plain_text', text: 'Extend' },
    blocks: [
      {
        type: 'input',
        block_id: FIELD.duration.block,
        label: { type: 'plain_text', text: 'Extra time' },
        element: { type: 'plain_text_input', action_id: FIELD.duration.action, placeholder: { type: 'plain_text', text: '30m' }, max_length: 20 },
      },
    ],
  };
}
