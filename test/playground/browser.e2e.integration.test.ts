// The playground in a real browser: a person requests, approves and breaks glass by clicking, as in Slack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { WebClient } from '@slack/web-api';
import { launchChromium, openPlayground, type OpenPlayground } from './browser-harness.ts';

let browser: Browser;
let open: OpenPlayground | null = null;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await open?.close();
  await browser?.close();
});

async function start(): Promise<OpenPlayground> {
  await open?.close();
  open = await openPlayground(browser);
  return open;
}

describe('the playground in Chromium', () => {
  it('grants an auto-approved request made in the modal, shows it counting down, and shows it expire', { timeout: 120_000 }, async () => {
    const { page, actAs, type, see, openSesame, conversation, requested, playground } = await start();
    await actAs('Alice Adams');
    await type('/access request');

    const modal = page.getByRole('dialog', { name: 'Request access' });
    await see(modal);
    await modal.getByLabel('Resource').focus();
    await page.keyboard.press('Escape');
    await modal.waitFor({ state: 'detached' });

    await type('/access request');
    await see(modal);
    await modal.getByLabel('Resource').selectOption('sandbox');
    await modal.getByLabel('Duration').fill('soon');
    await modal.getByLabel('Reason').fill('trying the playground');
    await modal.getByRole('button', { name: 'Request' }).click();
    // Sesame refuses the field, and the form stays open with the reason beside it.
    await see(modal.getByRole('alert').filter({ hasText: /\w/ }));
    expect(await modal.getByRole('alert').filter({ hasText: /\w/ }).count()).toBe(1);
    await modal.getByLabel('Duration').fill('20s');
    await modal.getByRole('button', { name: 'Request' }).click();
    await modal.waitFor({ state: 'detached' });

    const grant = page.locator('#grants li', { hasText: 'sandbox admin' });
    await see(grant.filter({ hasText: 'active' }));
    expect(await grant.textContent()).toMatch(/for @alice — active · 0:\d\d left/);
    await see(page.locator('#audit li', { hasText: 'grant.activated' }));

    await openSesame('Messages');
    // One DM for a form request: the grant itself, not a second "Granted:" for the form.
    await see(conversation().getByText('You have'));
    expect(await conversation().getByText('Granted:').count()).toBe(0);
    // <!date^…> shows in the reader's own time zone, as Slack shows it. It is the grant's end, 20 s away: tomorrow when
    // the test runs in the last seconds before midnight (as a CI run that retried this test did, at about 00:00 UTC).
    expect(await conversation().locator('.blocks time').first().textContent()).toMatch(/^(Today|Tomorrow) \d{1,2}:\d{2}/);

    await see(grant.filter({ hasText: 'expired' }), 60_000);
    await see(conversation().getByText('has ended'));
    await see(page.locator('#audit li', { hasText: 'grant.expired' }));
    // Everything came from the playground itself: no CDN, no network.
    expect(requested.filter((url) => !url.startsWith(playground.url))).toEqual([]);
    expect(requested).toContain(`${playground.url}js/mrkdwn.js`);
  });

  it('takes a high-tier request through Approve by security and then an SRE lead, updating the card in place', { timeout: 90_000 }, async () => {
    const { page, actAs, type, see, openChannel, openSesame, conversation } = await start();
    await actAs('Alice Adams');
    await type('/access request prod-db write 5m hotfix for OPS-7');
    const reply = conversation().locator('article', { hasText: 'is waiting for' });
    await see(reply);
    expect(await reply.textContent()).toContain('Only visible to you');

    await actAs('Bob Brown');
    await conversation().getByText('No messages yet').waitFor();
    expect(await conversation().getByText('is waiting for').count()).toBe(0);

    await actAs('Frank Fischer (security)');
    // The card is new to Frank: the sidebar says so until he opens the channel.
    const approvals = page.getByRole('button', { name: '# access-approvals' });
    expect(await approvals.getAttribute('aria-description')).toBe('1 new');
    await openChannel('access-approvals');
    expect(await approvals.getAttribute('aria-description')).toBeNull();
    const card = conversation().locator('article', { has: page.getByRole('heading', { name: /Access request R\d+/ }) });
    await see(card);
    expect(await card.textContent()).toContain('@alice');
    await card.getByRole('button', { name: 'Approve' }).click();
    await see(card.getByText('Waiting for step 2 of 2'));
    await see(card.getByText('(edited)'));

    // The second approver decides from Sesame's App Home tab, where requests waiting for them are listed.
    await actAs('Dan Diaz (SRE lead)');
    await openSesame('Home');
    const waiting = conversation().locator('.bk-section', { hasText: '@alice wants' });
    await see(waiting);
    await conversation().getByRole('button', { name: 'Approve' }).click();
    await see(conversation().getByText('Nothing is waiting for you.'));
    await openChannel('access-approvals');
    await see(card.getByText(/Approved by @dan; granted as G\d+/));
    expect(await card.getByRole('button', { name: 'Approve' }).count()).toBe(0);
    expect(await conversation().locator('article').count()).toBe(1);
    await see(page.locator('#grants li', { hasText: 'prod-db write' }).filter({ hasText: 'active' }));

    await actAs('Alice Adams');
    await openSesame('Messages');
    await see(conversation().getByText('@dan approved your request'));
  });

  it('breaks glass in the incident channel: announced to everyone there, reviewed by security', { timeout: 90_000 }, async () => {
    const { page, actAs, type, see, openChannel, conversation } = await start();
    await actAs('Carol Chen (on call)');
    await openChannel('inc-42-db-down');
    await type('/access breakglass prod-db write 10m primary is down <b>now</b> & <@U0FRANK>');
    await see(conversation().getByText(/break-glass is capped at 5m/));
    await see(conversation().getByText('@carol broke glass'));

    await actAs('Bob Brown');
    await see(conversation().getByText('@carol broke glass'));
    // The cap note was Carol's alone: once Bob's view is drawn it is gone.
    await conversation().getByText(/capped at 5m/).waitFor({ state: 'detached' });

    await actAs('Frank Fischer (security)');
    await openChannel('access-approvals');
    const card = conversation().locator('article', { has: page.getByRole('heading', { name: /Break-glass G\d+ — review/ }) });
    await see(card);
    // What the requester typed shows as text: never markup, never a mention.
    await see(card.getByText('primary is down <b>now</b> & <@U0FRANK>'));
    expect(await conversation().locator('b').count()).toBe(0);
    await card.getByRole('button', { name: 'Acknowledge' }).click();
    await see(card.getByText('Acknowledged by @frank'));
    await see(page.locator('#grants li', { hasText: 'prod-db write 🚨' }));
    await see(page.locator('#audit li', { hasText: 'breakglass.reviewed' }));
  });
  it('keeps the person picked in "Acting as" when a view of the one before is still on its way', { timeout: 60_000 }, async () => {
    const { page, actAs, type, see, conversation } = await start();
    await actAs('Alice Adams');
    // Alice's next view is held back until Bob has been picked; it arrives after, and must not take the page back.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let heldOne = false;
    await page.route(/\/ui\/state\?user=U0ALICE/, async (route) => {
      if (!heldOne) {
        heldOne = true;
        await held;
      }
      await route.continue();
    });
    await type('/access help');
    await expect.poll(() => heldOne, { timeout: 15_000 }).toBe(true);
    await actAs('Bob Brown');
    release();
    await see(conversation().getByText('No messages yet'));
    await new Promise((r) => setTimeout(r, 500));
    expect(await page.getByLabel('Acting as').inputValue()).toBe('U0BOB');
    expect(await conversation().getByText('Only visible to you').count()).toBe(0);
  });

  it('draws the Block Kit Sesame sends: header, section, fields, context, divider, buttons, mrkdwn, mentions and dates', { timeout: 60_000 }, async () => {
    const { page, actAs, see, openChannel, conversation, playground } = await start();
    await actAs('Bob Brown');
    await openChannel('general');
    const at = 1_796_000_000;
    // Posted through the stand-in's Web API, as Sesame posts.
    await new WebClient('xoxb-playground', { slackApiUrl: playground.slack.apiUrl }).chat.postMessage({
      channel: 'C0GENERAL',
      text: 'Block Kit check',
      blocks: [
        { type: 'header', text: { type: 'plain_text', text: 'Block Kit check' } },
        { type: 'section', text: { type: 'mrkdwn', text: '*bold* _italic_ ~struck~ `code` <https://example.com/x|a link> for <@U0ALICE> in <#C0AUDIT>\n&gt; quoted' } },
        { type: 'section', fields: [{ type: 'mrkdwn', text: '*Resource*\nsandbox' }, { type: 'mrkdwn', text: '*Role*\nadmin' }] },
        { type: 'divider' },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `ends <!date^${at}^{date_num}|later>` }] },
        { type: 'actions', elements: [{ type: 'button', action_id: 'look', value: 'x', text: { type: 'plain_text', text: 'Take a look' } }] },
      ],
    });
    const message = conversation().locator('article', { has: page.getByRole('heading', { name: 'Block Kit check' }) });
    await see(message);
    const texts = (selector: string) => message.locator(selector).allTextContents();
    expect(await texts('.blocks strong')).toEqual(['bold', 'Resource', 'Role']);
    expect([await texts('em'), await texts('s'), await texts('code'), await texts('blockquote')]).toEqual([['italic'], ['struck'], ['code'], ['quoted']]);
    expect(await message.getByRole('link', { name: 'a link' }).getAttribute('href')).toBe('https://example.com/x');
    expect(await texts('.mention')).toEqual(['@alice', '#sesame-audit']);
    expect(await message.locator('.bk-field').allInnerTexts()).toEqual(['Resource\nsandbox', 'Role\nadmin']);
    expect(await message.locator('hr').count()).toBe(1);
    expect(await texts('.bk-context')).toEqual([`ends ${new Date(at * 1000).toISOString().slice(0, 10)}`]);
    const button = message.getByRole('button', { name: 'Take a look' });
    expect(await button.evaluate((node) => node.tagName)).toBe('BUTTON');
  });
});
