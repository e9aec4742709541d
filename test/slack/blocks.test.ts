// Block Kit renderers: the card's content and buttons, escaping, and Slack's limits with extreme input.
import { describe, expect, it } from 'vitest';
import { awaitingMessage, helpMessage, overviewMessage, requestCard } from '../../src/slack/blocks.ts';
import { breakglassAlert, breakglassAnnouncement, reviewCard } from '../../src/slack/breakglass-blocks.ts';
import { homeView } from '../../src/slack/home.ts';
import { escapeMrkdwn } from '../../src/slack/text.ts';
import type { ApprovalRow, GrantRow, RequestRow } from '../../src/store/schema.ts';

const aRequest = (overrides: Partial<RequestRow> = {}): RequestRow => ({
  id: 42, requester: 'U0ENG1', resource: 'prod-db', role: 'write', tier: 'high', durationMs: 3_600_000, reason: 'schema change INC-7', tickets: ['INC-7'],
  breakglass: false, state: 'pending', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }], currentStep: 0, selfApproval: false,
  extendsGrantId: null, channelId: null, rule: 'r', createdAt: 0, timeoutAt: 0, startsAt: null, decidedAt: null, approvedAt: null, decidedBy: null, decisionNote: null, cardChannel: null, cardTs: null, autoGroup: null, escalateAt: null, escalatedStep: null, bundleMembers: null, ...overrides,
});
const aGrant = (overrides: Partial<GrantRow> = {}): GrantRow => ({
  id: 17, requestId: 42, user: 'U0ENG1', resource: 'prod-db', role: 'write', provider: { type: 'noop' }, providerState: null, reason: 'r', breakglass: false, state: 'active',
  createdAt: 0, startsAt: 0, expiresAt: Date.UTC(2026, 10, 23, 10), endedAt: null, endedBy: null, revokeAttempts: 0, reviewedBy: null, reviewedAt: null, cleanupPending: null, dmChannel: null, dmTs: null, identity: null, accessKey: null, reviewFrom: null, reviewLeads: null, reviewVerdict: null, reviewNote: null, reviewCardChannel: null, reviewCardTs: null, ...overrides,
});
const withinLimits = (blocks: unknown[]) => {
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const block of blocks as { text?: { text: string }; fields?: { text: string }[] }[]) {
    expect(block.text?.text.length ?? 0).toBeLessThanOrEqual(3_000);
    for (const field of block.fields ?? []) expect(field.text.length).toBeLessThanOrEqual(2_000);
  }
};

/** Every mrkdwn text anywhere in the blocks: the only place Slack turns `<!channel>` into a ping. */
const mrkdwnTexts = (value: unknown): string[] => {
  if (Array.isArray(value)) return value.flatMap(mrkdwnTexts);
  if (value === null || typeof value !== 'object') return [];
  const node = value as { type?: unknown; text?: unknown };
  const own = node.type === 'mrkdwn' && typeof node.text === 'string' ? [node.text] : [];
  return [...own, ...Object.values(value).flatMap(mrkdwnTexts)];
};

describe('requestCard', () => {
  it('shows requester, resource, role, duration, tier, tickets as links, reason, the waiting step and both buttons', () => {
    const card = requestCard({ request: aRequest(), approvals: [], ticketUrl: 'https://t.example/browse/{ticket}' });
    expect(card.blocks).toMatchSnapshot();
    // Notifications show `text`: Slack renders the mention there as the person's name, a bare id it would not.
    expect(card.text).toBe('Access request R42: <@U0ENG1> asks for prod-db write for 1h (pending)');
  });

  it('lists who approved at which step, and drops the buttons once decided', () => {
    const approvals: ApprovalRow[] = [{ id: 1, requestId: 42, step: 0, approver: 'U0SEC1', at: 0 }];
    const card = requestCard({ request: aRequest({ state: 'approved', currentStep: 2, decidedBy: 'U0LEAD2' }), approvals, grant: aGrant() });
    const json = JSON.stringify(card.blocks);
    expect(json).toContain('step 1 (`security`): <@U0SEC1>');
    expect(json).toContain('granted as G17 until <!date^1795428000');
    expect(card.blocks.some((b) => b.type === 'actions')).toBe(false);
  });

  it('shows a bundle as one request with its members, and each member\'s grant once granted', () => {
    const bundleMembers = [{ resource: 'prod-db', role: 'read' }, { resource: 'deployers', role: 'member' }];
    const request = aRequest({ resource: 'incident-responder', role: 'bundle', state: 'approved', decidedBy: 'policy', bundleMembers });
    const grants = [aGrant({ id: 17, role: 'read' }), aGrant({ id: 18, resource: 'deployers', role: 'member', state: 'revoked' })];
    const card = requestCard({ request, approvals: [], grants });
    const json = JSON.stringify(card.blocks);
    expect(json).toContain('*Resource*\\n`incident-responder` (bundle: `prod-db` `read`, `deployers` `member`)');
    expect(json).toContain('Grants: `G17` `prod-db` `read` active until <!date^1795428000');
    expect(json).toContain('; `G18` `deployers` `member` revoked');
    expect(card.text).toContain('asks for incident-responder (bundle: prod-db read, deployers member) for 1h');
  });

  it('stays within Slack limits with a 5,000-character reason, 300 tickets and 200 approvers', () => {
    const approvals = Array.from({ length: 200 }, (_, i): ApprovalRow => ({ id: i, requestId: 42, step: i % 2, approver: `U${i}X`, at: 0 }));
    const tickets = Array.from({ length: 300 }, (_, i) => `INC-${i}`);
    const card = requestCard({ request: aRequest({ reason: 'x'.repeat(5_000), tickets, state: 'denied', decisionNote: 'n'.repeat(5_000) }), approvals, ticketUrl: 'https://t.example/{ticket}' });
    withinLimits(card.blocks);
  });

  it('never lets a reason ping anyone', () => {
    const card = requestCard({ request: aRequest({ reason: '<!channel> <@U0SEC1> <!subteam^S1>', state: 'denied', decisionNote: '<!here> no' }), approvals: [] });
    const rendered = mrkdwnTexts(card.blocks).join(' ');
    expect(rendered).not.toMatch(/<!(channel|here|subteam)/);
    expect(rendered).toContain('&lt;!here&gt; no');
  });
});

describe('other renderers', () => {
  it('escapes the three characters Slack gives meaning to', () => {
    expect(escapeMrkdwn('a & <b> c')).toBe('a &amp; &lt;b&gt; c');
  });

  it('keeps help, lists and App Home within limits with many items', () => {
    const resources = Array.from({ length: 500 }, (_, i) => ({ name: `svc-${i}`, description: 'd'.repeat(200), roles: ['read', 'write'] }));
    withinLimits(helpMessage(resources).blocks);
    const requests = Array.from({ length: 300 }, (_, i) => aRequest({ id: i + 1 }));
    const grants = Array.from({ length: 300 }, (_, i) => aGrant({ id: i + 1 }));
    withinLimits(overviewMessage(requests, grants).blocks);
    const home = homeView({ grants, requests, awaiting: requests });
    expect(home.blocks.length).toBeLessThanOrEqual(100); // App Home allows 100 blocks
  });
});

describe('break-glass blocks', () => {
  const injected = '<!channel> *urgent* <@U0SEC1> 🔥'.repeat(300);
  const glassRequest = aRequest({ breakglass: true, channelId: 'C0INC42', reason: injected, state: 'approved' });
  const glassGrant = aGrant({ breakglass: true, user: 'U0ONC1', reason: injected });

  it('puts the reason in plain text on the announcement, the alert and the review card, within limits', () => {
    for (const message of [breakglassAnnouncement(glassRequest, glassGrant), breakglassAlert(glassRequest, glassGrant), reviewCard(glassRequest, glassGrant, '<@U0SEC1>')]) {
      withinLimits(message.blocks);
      for (const text of mrkdwnTexts(message.blocks)) expect(text).not.toContain('<!channel>');
    }
  });

  it('shows the Acknowledge button until reviewed, then who reviewed instead', () => {
    const open = JSON.stringify(reviewCard(glassRequest, glassGrant, '<@U0SEC1>').blocks);
    expect(open).toContain('"action_id":"acknowledge_breakglass"');
    expect(open).toContain('"value":"G17"');
    const done = JSON.stringify(reviewCard(glassRequest, { ...glassGrant, reviewedBy: 'U0SEC1', reviewedAt: 1 }, '<@U0SEC1>').blocks);
    expect(done).not.toContain('acknowledge_breakglass');
    expect(done).toContain('Acknowledged by <@U0SEC1>');
  });

  it('keeps /access pending and App Home within Slack limits with 200 unreviewed uses', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ ...glassGrant, id: i + 1 }));
    const pending = awaitingMessage([], many);
    withinLimits(pending.blocks);
    expect(JSON.stringify(pending.blocks)).toContain('…and 160 more');
    const home = homeView({ grants: [], requests: [], awaiting: [], unreviewed: many });
    expect(home.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(home.blocks)).toContain('Break-glass uses to review');
  });
});
