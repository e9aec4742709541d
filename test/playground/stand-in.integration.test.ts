// The Slack stand-in on its own: Web API calls change the workspace as in Slack, and what people do is sent signed, in Slack's shapes.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsSender, signature } from '../../src/playground/events-sender.ts';
import { BOT_USER, FakeSlack } from '../../src/playground/fake-slack.ts';

const SECRET = 'stand-in-test-secret-0123456789';

interface Received {
  contentType: string;
  body: string;
  signatureOk: boolean;
}

describe('the Slack stand-in', () => {
  let slack: FakeSlack;
  let client: WebClient;
  let receiver: Server;
  const received: Received[] = [];
  let ackBody = '';
  let sender: EventsSender;

  beforeAll(async () => {
    slack = await new FakeSlack().start();
    slack.channels.set('C0APPROVALS', { name: 'access-approvals' });
    slack.people.set('U0ALICE', { name: 'alice', realName: 'Alice Adams' });
    client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl });
    receiver = createServer((req, res) => {
      void readAll(req).then((body) => {
        const timestamp = Number(req.headers['x-slack-request-timestamp']);
        received.push({ contentType: String(req.headers['content-type']), body, signatureOk: req.headers['x-slack-signature'] === signature(SECRET, timestamp, body) && Math.abs(Date.now() / 1000 - timestamp) < 60 });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(ackBody);
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    sender = new EventsSender(slack, `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack/events`, SECRET);
  });

  afterAll(async () => {
    await slack.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it('posts, updates in place, shows ephemerals to one person, deletes, and tells listeners each time', async () => {
    let changes = 0;
    const stop = slack.onChange(() => changes++);
    const posted = await client.chat.postMessage({ channel: 'C0APPROVALS', text: 'card', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*v1*' } }] });
    await client.chat.update({ channel: 'C0APPROVALS', ts: String(posted.ts), text: 'card', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*v2*' } }] });
    await client.chat.postEphemeral({ channel: 'C0APPROVALS', user: 'U0ALICE', text: 'just for you' });
    stop();

    const inChannel = slack.workspace.messages.filter((m) => m.channel === 'C0APPROVALS');
    expect(inChannel.map((m) => [m.text, m.visibleTo, m.edited])).toEqual([
      ['card', undefined, true],
      ['just for you', 'U0ALICE', undefined],
    ]);
    expect(inChannel[0]?.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: '*v2*' } }]);
    expect(changes).toBe(3);

    await client.chat.delete({ channel: 'C0APPROVALS', ts: String(posted.ts) });
    expect(slack.workspace.message('C0APPROVALS', String(posted.ts))).toBeUndefined();
  });

  it('refuses what a browser sends it (an Origin header), so no web page can rewrite a user group', async () => {
    slack.usergroups.set('S0ONCALL', ['U0BOB']);
    const forged = await fetch(`${slack.apiUrl}usergroups.users.update`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: 'usergroup=S0ONCALL&users=U0ALICE',
    });
    expect(forged.status).toBe(403);
    expect(slack.usergroups.get('S0ONCALL')).toEqual(['U0BOB']);
  });

  it('sends a slash command form-encoded and signed; a response_url post shows only to whoever typed it', async () => {
    received.length = 0;
    await sender.command('U0ALICE', 'C0APPROVALS', '/access request sandbox admin 1m testing');
    const [command] = received;
    expect(command?.signatureOk).toBe(true);
    expect(command?.contentType).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(command?.body);
    expect([form.get('command'), form.get('text'), form.get('user_id'), form.get('channel_id'), form.get('channel_name')]).toEqual(['/access', 'request sandbox admin 1m testing', 'U0ALICE', 'C0APPROVALS', 'access-approvals']);

    await fetch(String(form.get('response_url')), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ response_type: 'ephemeral', text: '✅ Granted' }) });
    expect(slack.workspace.messages.at(-1)).toMatchObject({ channel: 'C0APPROVALS', text: '✅ Granted', visibleTo: 'U0ALICE', user: BOT_USER });
  });

  it('sends a click as payload= JSON naming the message, and opens a modal for the clicker from its trigger id', async () => {
    received.length = 0;
    const card = slack.workspace.post({ channel: 'C0APPROVALS', user: BOT_USER, text: 'card', blocks: [] });
    await sender.clickInMessage('U0ALICE', card, { actionId: 'approve_request', blockId: 'decide_R1', value: 'R1', text: 'Approve' });
    const [click] = received;
    expect(click?.signatureOk).toBe(true);
    const payload = JSON.parse(String(new URLSearchParams(click?.body).get('payload'))) as Record<string, unknown>;
    expect(payload).toMatchObject({ type: 'block_actions', user: { id: 'U0ALICE' }, container: { type: 'message', message_ts: card.ts, channel_id: 'C0APPROVALS' }, actions: [{ action_id: 'approve_request', value: 'R1', block_id: 'decide_R1' }] });

    const opened = await client.views.open({ trigger_id: String(payload.trigger_id), view: { type: 'modal', title: { type: 'plain_text', text: 'Deny R1' }, blocks: [] } });
    expect(slack.workspace.modals).toEqual([{ id: opened.view?.id, user: 'U0ALICE', view: expect.objectContaining({ type: 'modal' }) }]);

    // The response_url of a click replaces the message it was on when asked to.
    await fetch(String(payload.response_url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replace_original: true, text: 'decided' }) });
    expect(slack.workspace.message('C0APPROVALS', card.ts)).toMatchObject({ text: 'decided', edited: true });
  });

  it("submits a modal with Slack's view state, typed by each input's element", async () => {
    received.length = 0;
    ackBody = JSON.stringify({ response_action: 'errors', errors: { reason: 'Say why you need it.' } });
    const modal = {
      id: 'V9',
      view: {
        type: 'modal',
        callback_id: 'request_form',
        blocks: [
          { type: 'input', block_id: 'resource', element: { type: 'static_select', action_id: 'resource_value', options: [{ text: { type: 'plain_text', text: 'sandbox' }, value: 'sandbox' }] } },
          { type: 'input', block_id: 'reason', element: { type: 'plain_text_input', action_id: 'reason_value' } },
        ],
      },
    };
    const answer = await sender.submit('U0ALICE', modal, { resource: { resource_value: 'sandbox' }, reason: { reason_value: '' } });
    ackBody = '';
    expect(answer).toEqual({ status: 200, body: JSON.stringify({ response_action: 'errors', errors: { reason: 'Say why you need it.' } }) });
    const payload = JSON.parse(String(new URLSearchParams(received[0]?.body).get('payload'))) as { type: string; view: { id: string; callback_id: string; state: unknown } };
    expect(received[0]?.signatureOk).toBe(true);
    expect(payload.type).toBe('view_submission');
    expect(payload.view).toMatchObject({ id: 'V9', callback_id: 'request_form' });
    expect(payload.view.state).toEqual({
      values: {
        resource: { resource_value: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'sandbox' }, value: 'sandbox' } } },
        reason: { reason_value: { type: 'plain_text_input', value: null } },
      },
    });
  });

  it('sends app_home_opened as a signed Events API JSON callback', async () => {
    received.length = 0;
    await sender.openHome('U0ALICE');
    expect(received[0]?.signatureOk).toBe(true);
    expect(received[0]?.contentType).toBe('application/json');
    expect(JSON.parse(String(received[0]?.body))).toMatchObject({ type: 'event_callback', event: { type: 'app_home_opened', user: 'U0ALICE', tab: 'home' } });
  });
});

async function readAll(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
