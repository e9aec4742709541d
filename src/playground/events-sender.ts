// The stand-in's other half: what people do in the workspace, sent to Sesame's /slack/events signed exactly as
// Slack signs it (v0 HMAC over "v0:timestamp:body"), in Slack's shapes: slash commands form-encoded,
// interactions as a form field `payload` holding JSON, events as JSON.
import { createHmac, randomUUID } from 'node:crypto';
import { BOT_USER, type FakeSlack, type StoredMessage } from './fake-slack.ts';

/** What Sesame answered: the HTTP status and the ack body (a modal's `response_action`, a command's reply). */
export interface Delivered {
  status: number;
  body: string;
}

export interface ButtonClick {
  actionId: string;
  value: string;
  blockId: string;
  text: string;
}

/** Form values as the page sends them: block id → action id → the text typed or the option chosen. */
export type FormValues = Record<string, Record<string, string | null>>;

export const TEAM = { id: 'T0TEAM', domain: 'playground' } as const;
const APP_ID = 'A0SESAME';

export function signature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export class EventsSender {
  constructor(
    private readonly slack: FakeSlack,
    private readonly eventsUrl: string,
    private readonly signingSecret: string,
  ) {}

  /** `/access …` typed by `user` in `channel`. */
  async command(user: string, channel: string, text: string): Promise<Delivered> {
    const command = text.trim().split(/\s/, 1)[0] ?? '/access';
    const body = new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: TEAM.id,
      team_domain: TEAM.domain,
      channel_id: channel,
      channel_name: this.slack.channels.get(channel)?.name ?? 'directmessage',
      user_id: user,
      user_name: this.name(user),
      command,
      text: text.trim().slice(command.length).trim(),
      api_app_id: APP_ID,
      response_url: this.slack.responseUrl(randomUUID(), { user, channel }),
      trigger_id: this.slack.workspace.triggerFor(user),
    }).toString();
    const delivered = await this.send(body, 'application/x-www-form-urlencoded');
    // An ack may carry the answer itself; Slack shows it only to the person who typed the command.
    const reply = ackMessage(delivered.body);
    if (reply) this.slack.workspace.post({ channel, user: BOT_USER, text: reply.text, blocks: reply.blocks, visibleTo: user });
    return delivered;
  }

  /** A button clicked on a message. */
  async clickInMessage(user: string, message: StoredMessage, button: ButtonClick): Promise<Delivered> {
    const payload = {
      ...this.envelope('block_actions', user),
      container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: message.visibleTo !== undefined },
      channel: { id: message.channel, name: this.slack.channels.get(message.channel)?.name ?? 'directmessage' },
      message: { type: 'message', ts: message.ts, text: message.text, blocks: message.blocks, user: message.user },
      response_url: this.slack.responseUrl(randomUUID(), { user, channel: message.channel, messageTs: message.ts }),
      actions: [this.action(button)],
    };
    return this.sendPayload(payload);
  }

  /** A button clicked in a view: the App Home tab or a modal (no response_url there, as in Slack). */
  async clickInView(user: string, view: { id: string; view: Record<string, unknown> }, button: ButtonClick): Promise<Delivered> {
    const payload = {
      ...this.envelope('block_actions', user),
      container: { type: 'view', view_id: view.id },
      view: { ...view.view, id: view.id },
      actions: [this.action(button)],
    };
    return this.sendPayload(payload);
  }

  /** A modal submitted with the given values, typed as the modal's elements are. */
  async submit(user: string, modal: { id: string; view: Record<string, unknown> }, values: FormValues): Promise<Delivered> {
    const payload = {
      ...this.envelope('view_submission', user),
      view: { ...modal.view, id: modal.id, state: { values: stateValues(modal.view, values) }, hash: `h${Date.now()}` },
    };
    return this.sendPayload(payload);
  }

  /** The person opened Sesame's App Home tab. */
  async openHome(user: string): Promise<Delivered> {
    const body = JSON.stringify({
      token: 'legacy-verification-token',
      team_id: TEAM.id,
      api_app_id: APP_ID,
      type: 'event_callback',
      event_id: `Ev${randomUUID()}`,
      event_time: Math.floor(Date.now() / 1000),
      event: { type: 'app_home_opened', user, channel: `D${user}`, tab: 'home', event_ts: `${Date.now() / 1000}` },
    });
    return this.send(body, 'application/json');
  }

  private name(user: string): string {
    return this.slack.people.get(user)?.name ?? user.toLowerCase();
  }

  private envelope(type: string, user: string) {
    return {
      type,
      team: TEAM,
      user: { id: user, username: this.name(user), name: this.name(user), team_id: TEAM.id },
      api_app_id: APP_ID,
      token: 'legacy-verification-token',
      trigger_id: this.slack.workspace.triggerFor(user),
    };
  }

  private action(button: ButtonClick) {
    return { type: 'button', action_id: button.actionId, block_id: button.blockId, value: button.value, text: { type: 'plain_text', text: button.text }, action_ts: `${Date.now() / 1000}` };
  }

  private sendPayload(payload: Record<string, unknown>): Promise<Delivered> {
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  private async send(body: string, contentType: string): Promise<Delivered> {
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(this.eventsUrl, {
      method: 'POST',
      headers: { 'content-type': contentType, 'x-slack-signature': signature(this.signingSecret, timestamp, body), 'x-slack-request-timestamp': String(timestamp) },
      body,
    });
    return { status: res.status, body: await res.text() };
  }
}

interface InputBlock {
  type?: string;
  block_id?: string;
  element?: { type?: string; action_id?: string; options?: { text: unknown; value: string }[] };
}

/** Slack's view state: each input keyed by block and action id, shaped by its element type. */
function stateValues(view: Record<string, unknown>, values: FormValues): Record<string, Record<string, unknown>> {
  const blocks = (Array.isArray(view.blocks) ? view.blocks : []) as InputBlock[];
  const state: Record<string, Record<string, unknown>> = {};
  for (const block of blocks) {
    const element = block.element;
    if (block.type !== 'input' || !block.block_id || !element?.action_id) continue;
    const given = values[block.block_id]?.[element.action_id] ?? null;
    if (element.type === 'static_select') {
      const option = element.options?.find((o) => o.value === given) ?? null;
      state[block.block_id] = { [element.action_id]: { type: 'static_select', selected_option: option } };
    } else {
      state[block.block_id] = { [element.action_id]: { type: element.type ?? 'plain_text_input', value: given === '' ? null : given } };
    }
  }
  return state;
}

/** The message in a command's ack body, if it has one (Bolt acks with an empty body otherwise). */
function ackMessage(body: string): { text: string; blocks: unknown[] } | null {
  if (!body.trim()) return null;
  try {
    const parsed = JSON.parse(body) as { text?: unknown; blocks?: unknown };
    return typeof parsed.text === 'string' ? { text: parsed.text, blocks: Array.isArray(parsed.blocks) ? parsed.blocks : [] } : null;
  } catch {
    return { text: body, blocks: [] };
  }
}
