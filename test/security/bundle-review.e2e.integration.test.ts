// Security: a member's tier asks for a post-access review, and inside a bundle that review is still asked for.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const POLICY = {
  ...NOOP_PROVIDERS,
  tiers: {
    low: { review: 'security' }, // sandbox:admin is reviewed by security after every grant
    short: { auto_approve: 'always', max_duration: '2h' }, // deployers:member: no review, smaller max → the "strictest"
  },
  resources: { ...(NOOP_PROVIDERS as { resources: object }).resources, deployers: { tier: 'short', provider: { type: 'noop', usergroup: undefined } } },
  bundles: { kit: ['sandbox:admin', 'deployers:member'] },
} as Parameters<typeof startE2E>[0];

describe('post-access review inside a bundle', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(POLICY);
  });
  afterAll(async () => {
    await e.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user, channel: 'C0GENERAL' });
    expect(sent.status).toBe(200);
    return String((await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`)).text);
  };
  const reviewsAsked = async () => ((await e.sql.all("SELECT grant_id FROM audit_log WHERE action = 'grant.review_requested'")) as { grant_id: string }[]).map((r) => r.grant_id);

  it('sandbox:admin alone is reviewed once it ends', async () => {
    const id = /`G(\d+)`/.exec(await reply('request sandbox 1h CHG-1 try'))?.[1];
    await reply(`revoke G${id}`);
    await e.slack.waitFor(async () => (await reviewsAsked()).includes(`G${id}`) || null, 'the review of the lone grant');
  });

  it('sandbox:admin granted through the bundle is reviewed, and deployers:member (whose tier has no review) is not', async () => {
    const text = await reply('request kit 1h CHG-2 try');
    const ids = [...text.matchAll(/`G(\d+)`/g)].map((m) => Number(m[1]));
    expect(ids).toHaveLength(2);
    const members = await Promise.all(ids.map((id) => e.sesame.store.getGrant(id)));
    const sandbox = members.find((g) => g?.resource === 'sandbox')?.id;
    const deployers = members.find((g) => g?.resource === 'deployers')?.id;
    await reply(`revoke G${ids[0]}`); // a bundle's grants end together
    await e.slack.waitFor(async () => (await reviewsAsked()).includes(`G${sandbox}`) || null, 'the review of the bundle member');
    const review = (await e.sql.get("SELECT details FROM audit_log WHERE action = 'grant.review_requested' AND grant_id = ?", `G${sandbox}`)) as { details: string };
    expect(JSON.parse(review.details)).toMatchObject({ tier: 'low', review: 'security' });
    await e.slack.waitFor(async () => ((await e.sesame.store.getGrant(deployers as number))?.state === 'revoked' ? true : null), 'the other member ended');
    expect(await reviewsAsked()).not.toContain(`G${deployers}`);
  });
});
