// Sends slash commands, button clicks, view submissions and events to /slack/events, signed exactly as Slack signs them.
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';

export interface SignedResponse {
  status: number;
  body: string;
}

export interface SendOptions {
  /** Seconds since the epoch to sign with. @defaultValue now */
  timestamp?: number;
  /** Sign with this secret instead of the right one. */
  secret?: string;
  /** More headers, e.g. Slack's X-Slack-Retry-Num on a retry. */
  headers?: Record<string, string>;
}

/** One request exactly as it went out, so a test can deliver it again byte for byte (a replay). */
export interface SentRequest {
  body: string;
  contentType: string;
  headers: Record<string, string>;
}

export class SlackSigner {
  constructor(
    private readonly eventsUrl: string,
    private readonly signingSecret: string,
    private readonly responseUrl: (id: string) => string,
  ) {}

  /** The last request sent, as it went out. */
  lastSent: SentRequest | null = null;

  async send(body: string, contentType: string, options: SendOptions = {}): Promise<SignedResponse> {
    this.lastSent = this.sign(body, contentType, options);
    return this.deliver(this.lastSent);
  }

  /** A request signed exactly as Slack signs it, not sent: to deliver it some other way (in pieces, say). */
  sign(body: string, contentType: string, options: SendOptions = {}): SentRequest {
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', options.secret ?? this.signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
    return { body, contentType, headers: { 'content-type': contentType, 'x-slack-signature': signature, 'x-slack-request-timestamp': String(timestamp), ...options.headers } };
  }

  /** Delivers a request again exactly as it was sent (same body, timestamp and signature), as a replaying attacker would. */
  async deliver(sent: SentRequest): Promise<SignedResponse> {
    // undici's request API, not fetch: the benchmark sends thousands through here, beside the Sesame it measures.
    const res = await request(this.eventsUrl, { method: 'POST', headers: sent.headers, body: sent.body });
    return { status: res.statusCode, body: await res.body.text() };
  }

  /** A slash command; returns the id under which its response_url posts are recorded. */
  async command(text: string, who: { user: string; channel?: string }, options: SendOptions = {}): Promise<SignedResponse & { responseId: string }> {
    const { body, responseId } = this.commandBody(text, who);
    return { ...(await this.send(body, 'application/x-www-form-urlencoded', options)), responseId };
  }

  /** A slash command's form body as Slack sends it, and the id under which its response_url posts are recorded. */
  commandBody(text: string, who: { user: string; channel?: string }): { body: string; responseId: string } {
    const responseId = randomUUID();
    const body = new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: 'T0TEAM',
      team_domain: 'example',
      channel_id: who.channel ?? 'C0GENERAL',
      channel_name: 'general',
      user_id: who.user,
      user_name: who.user.toLowerCase(),
      command: '/access',
      text,
      api_app_id: 'A0SESAME',
      response_url: this.responseUrl(responseId),
      trigger_id: `trigger-${responseId}`,
    }).toString();
    return { body, responseId };
  }

  /** A button click on a message (with response_url) or in App Home (without). */
  async click(user: string, actionId: string, value: string, where: 'message' | 'home' = 'message'): Promise<SignedResponse & { responseId: string }> {
    const responseId = randomUUID();
    const payload = {
      ...envelope('block_actions', user, responseId),
      container: where === 'message' ? { type: 'message', message_ts: '1700000000.000001', channel_id: 'C0DBA', is_ephemeral: false } : { type: 'view', view_id: 'VHOME' },
      ...(where === 'message' ? { channel: { id: 'C0DBA', name: 'dba' }, message: { ts: '1700000000.000001', text: 'card' }, response_url: this.responseUrl(responseId) } : { view: { id: 'VHOME', type: 'home' } }),
      actions: [{ type: 'button', action_id: actionId, block_id: 'b', value, action_ts: '1700000000.1' }],
    };
    return { ...(await this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded')), responseId };
  }

  /** Chooses an option in a select of an open modal (an input block with `dispatch_action`), as Slack reports it. */
  async select(user: string, view: { id: string; hash: string; callbackId: string }, blockId: string, actionId: string, value: string): Promise<SignedResponse> {
    const payload = {
      ...envelope('block_actions', user, randomUUID()),
      container: { type: 'view', view_id: view.id },
      view: { id: view.id, type: 'modal', callback_id: view.callbackId, hash: view.hash, private_metadata: '', state: { values: {} }, blocks: [] },
      actions: [{ type: 'static_select', action_id: actionId, block_id: blockId, selected_option: { text: { type: 'plain_text', text: value }, value }, action_ts: '1700000000.2' }],
    };
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  /** Submits a modal; `values` is { block_id: { action_id: { value } | { selected_option: { value } } } }. */
  async submit(user: string, callbackId: string, values: Record<string, Record<string, unknown>>, privateMetadata = ''): Promise<SignedResponse> {
    const payload = {
      ...envelope('view_submission', user, randomUUID()),
      view: { id: 'VMODAL', type: 'modal', callback_id: callbackId, private_metadata: privateMetadata, state: { values }, hash: 'h', blocks: [] },
    };
    return this.send(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), 'application/x-www-form-urlencoded');
  }

  /** An Events API callback, e.g. app_home_opened; `eventId` and `options` let a test send Slack's retry of it. */
  async event(event: Record<string, unknown>, eventId = `Ev${randomUUID()}`, options: SendOptions = {}): Promise<SignedResponse> {
    const body = JSON.stringify({ token: 'legacy-verification-token', team_id: 'T0TEAM', api_app_id: 'A0SESAME', type: 'event_callback', event_id: eventId, event_time: Math.floor(Date.now() / 1000), event });
    return this.send(body, 'application/json', options);
  }
}

/** What every interactive payload carries: its type, the team, the acting user, the app and a trigger id. */
function envelope(type: string, user: string, triggerId: string) {
  return {
    type,
    team: { id: 'T0TEAM', domain: 'example' },
    user: { id: user, username: user.toLowerCase(), team_id: 'T0TEAM' },
    api_app_id: 'A0SESAME',
    token: 'legacy-verification-token',
    trigger_id: `trigger-${triggerId}`,
  };
}
