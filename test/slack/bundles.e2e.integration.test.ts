// Bundles end to end: signed /access and clicks into the real app, webhook providers on loopback, all or nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTablesOf } from '../../src/store/audit-checks.ts';
import type { GrantRow } from '../../src/store/schema.ts';
import { PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';

const HOOK_SECRET = 'e2e-bundle-hook-secret-0123';
const OPS_KIT = [
  { resource: 'sandbox', role: 'admin' },
  { resource: 'prod-db', role: 'read' },
  { resource: 'deployers', role: 'member' },
];

describe('bundles, end to end', () => {
  let e: E2E;
  const dbHook = new WebhookReceiver(HOOK_SECRET);
  const deployHook = new WebhookReceiver(HOOK_SECRET);

  beforeAll(async () => {
    await dbHook.start();
    await deployHook.start();
    e = await startE2E(
      {
        // `short` gives the bundle a member whose tier allows less than the others: 2h instead of 8h.
        tiers: { short: { auto_approve: 'always', max_duration: '2h' } },
        resources: {
          'staging-db': { provider: { type: 'noop', connection_env: undefined, roles: undefined } },
          'prod-db': { roles: { read: { tier: 'low' } }, provider: { type: 'webhook', url: dbHook.url, secret_env: 'E2E_HOOK_SECRET', check: true } },
          deployers: { tier: 'short', provider: { type: 'webhook', url: deployHook.url, secret_env: 'E2E_HOOK_SECRET', usergroup: undefined } },
        },
        bundles: {
          'ops-kit': OPS_KIT.map((m) => `${m.resource}:${m.role}`),
          'db-admin': ['prod-db:read', 'prod-db:write'],
        },
        // Deleting the example's provider keys (undefined) is what the builder allows but the provider types do not know.
      } as Parameters<typeof startE2E>[0],
      { env: { E2E_HOOK_SECRET: HOOK_SECRET } },
    );
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    // The bundle column and every member grant are exactly what the audit log says.
    expect((await verifyTablesOf(e.history)).mismatches).toEqual([]);
    await e.stop();
    await dbHook.stop();
    await deployHook.stop();
  });

  const reply = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };
  const click = async (user: string, actionId: string, value: string) => {
    const sent = await e.signer.click(user, actionId, value);
    expect(sent.status).toBe(200);
    return sent.responseId;
  };
  const grantIdsIn = (text: string) => [...text.matchAll(/`G(\d+)`/g)].map((m) => Number(m[1]));
  const requestOf = async (grantId: number) => (await e.sesame.store.getGrant(grantId) as GrantRow).requestId;
  const grantsOf = async (requestId: number) => await e.sesame.store.grantsOfRequest(requestId);
  const actionsOn = async (grantId: number) =>
    ((await e.sql.all('SELECT action FROM audit_log WHERE grant_id = ? ORDER BY id', `G${grantId}`)) as { action: string }[]).map((r) => r.action);

  it('grants an auto-approved bundle as one request with a grant per member, all ending together', async () => {
    const text = await reply('request ops-kit 1h INC-42 rolling back the deploy');
    expect(text).toMatch(/^✅ Granted: `ops-kit` \(bundle: `sandbox` `admin`, `prod-db` `read`, `deployers` `member`\) for 1h until .* \(`G\d+`, `G\d+`, `G\d+`\)\. Revoking or extending any of them acts on the whole bundle\.$/);
    const ids = grantIdsIn(text);
    const request = await e.sesame.store.getRequest(await requestOf(ids[0] as number));
    expect(request).toMatchObject({ resource: 'ops-kit', role: 'bundle', state: 'approved', bundleMembers: OPS_KIT, tier: 'short' });
    const grants = await grantsOf(request?.id ?? 0);
    expect(grants.map((g) => g.id)).toEqual(ids);
    expect(grants.map((g) => `${g.resource}:${g.role}:${g.state}`)).toEqual(['sandbox:admin:active', 'prod-db:read:active', 'deployers:member:active']);
    expect(new Set(grants.map((g) => g.expiresAt)).size).toBe(1);
    expect(dbHook.present.has(`G${ids[1]}`)).toBe(true);
    expect(deployHook.present.has(`G${ids[2]}`)).toBe(true);
    // The request's entry names the bundle and its members; each grant keeps its own entries.
    const created = (await e.sql.get("SELECT details FROM audit_log WHERE action = 'request.created' AND request_id = ?", `R${request?.id}`)) as { details: string };
    expect(JSON.parse(created.details)).toMatchObject({ resource: 'ops-kit', bundle_members: OPS_KIT });
    for (const id of ids) expect(await actionsOn(id)).toContain('grant.activated');
  });

  it('refuses a bundle as a whole when one member is beyond the requester, naming that member, and grants nothing', async () => {
    const before = (await e.sql.get('SELECT count(*) AS n FROM grants'));
    expect(await reply('request ops-kit 1h INC-1 curious', PEOPLE.outsider)).toBe(
      'Bundle `ops-kit` is requested as a whole, and `prod-db:read` in it is refused: only members of `engineering` may request `prod-db`; ask one of them, or ask to be added to the group. Ask for the bundle\'s other members one by one if you need them.',
    );
    expect(await reply('request ops-kit 3h INC-1 long night')).toContain('`deployers:member` in it is refused: 3h is longer than the 2h maximum for short-tier access');
    expect((await e.sql.get('SELECT count(*) AS n FROM grants'))).toEqual(before);
    const refused = (await e.sql.get("SELECT count(*) AS n FROM audit_log WHERE action = 'request.refused' AND details LIKE '%ops-kit%'"));
    expect(refused).toEqual({ n: 2 });
  });

  it('undoes the members already granted when one fails at its provider, and fails the request naming it', async () => {
    deployHook.mode = 'fail';
    try {
      const text = await reply('request ops-kit 1h INC-43 hotfix');
      expect(text).toMatch(/^⚠️ Request `R\d+` for `ops-kit` \(bundle: .*\) was approved, but granting it failed \(`deployers member \(bundle ops-kit\): .*503.*`\), so you have no access\./);
      const requestId = Number(/`R(\d+)`/.exec(text)?.[1]);
      expect(await e.sesame.store.getRequest(requestId)).toMatchObject({ state: 'failed', decisionNote: expect.stringContaining('deployers member (bundle ops-kit)') });
      const grants = await grantsOf(requestId);
      expect(grants.map((g) => `${g.resource}:${g.state}`)).toEqual(['sandbox:revoked', 'prod-db:revoked', 'deployers:failed']);
      const prodDb = grants[1] as GrantRow;
      // The webhook receiver was told to grant and then to revoke: the person holds nothing anywhere.
      expect(dbHook.present.has(`G${prodDb.id}`)).toBe(false);
      expect(dbHook.received.filter((r) => r.payload?.grant_id === `G${prodDb.id}`).map((r) => r.event)).toEqual(['grant', 'revoke']);
      expect(await actionsOn(prodDb.id)).toEqual(expect.arrayContaining(['grant.activated', 'grant.revoked']));
      expect(await actionsOn((grants[2] as GrantRow).id)).toContain('grant.failed');
      await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === PEOPLE.engineer && String(c.text).includes(`\`R${requestId}\``) && String(c.text).includes('granting it failed')), 'the failure DM');
    } finally {
      deployHook.mode = 'ok';
    }
  });

  it("revokes the whole bundle from any member's grant id, and refuses someone else's revoke", async () => {
    const ids = grantIdsIn(await reply('request ops-kit 1h INC-44 checking'));
    expect(await reply(`revoke G${ids[0]}`, PEOPLE.outsider)).toBe(`Grant \`G${ids[0]}\` is not yours; only its holder (or an admin, for revoking) can change it.`);
    expect((await grantsOf(await requestOf(ids[0] as number))).every((g) => g.state === 'active')).toBe(true);
    expect(await reply(`revoke G${ids[1]}`)).toBe(`🔒 \`G${ids[1]}\` is revoked.`);
    expect((await grantsOf(await requestOf(ids[0] as number))).map((g) => g.state)).toEqual(['revoked', 'revoked', 'revoked']);
    expect(dbHook.present.has(`G${ids[1]}`)).toBe(false);
    expect(deployHook.present.has(`G${ids[2]}`)).toBe(false);
    for (const id of ids) expect(await actionsOn(id)).toContain('grant.revoked');
  });

  it("extends every member together, and no further than the bundle's smallest max_duration", async () => {
    const ids = grantIdsIn(await reply('request ops-kit 1h INC-45 long fix'));
    const requestId = await requestOf(ids[0] as number);
    const ends = async () => (await grantsOf(requestId)).map((g) => g.expiresAt ?? 0);
    const [first] = await ends();
    expect(await reply(`extend G${ids[2]} 45m`)).toMatch(new RegExp(`^⏩ \`G${ids[2]}\` now lasts until`));
    expect(await ends()).toEqual([first, first, first].map((t) => (t ?? 0) + 45 * 60_000));
    // 1h45m so far; deployers' tier stops at 2h, although sandbox and prod-db read would allow 8h.
    expect(await reply(`extend G${ids[0]} 30m`)).toContain('more than the 2h maximum for short-tier access');
    expect(await ends()).toEqual([first, first, first].map((t) => (t ?? 0) + 45 * 60_000));
    expect(await reply(`extend G${ids[0]} 15m`)).toMatch(/now lasts until/);
    expect(new Set(await ends()).size).toBe(1);
  });

  it('offers bundles in the request form only to those who may request every member, and grants one from it', async () => {
    await e.signer.command('request', { user: PEOPLE.outsider });
    const outsiderForm = await e.slack.waitFor(() => e.slack.callsTo('views.open').filter((v) => (v.view as { callback_id?: string }).callback_id === 'request_form').at(-1), 'the outsider\'s form');
    expect(JSON.stringify(outsiderForm.view)).not.toContain('"value":"ops-kit"');
    const opens = e.slack.callsTo('views.open').length;
    await e.signer.command('request', { user: PEOPLE.engineer2 });
    const form = await e.slack.waitFor(() => e.slack.callsTo('views.open').slice(opens).find((v) => (v.view as { callback_id?: string }).callback_id === 'request_form'), 'the form');
    expect(JSON.stringify(form.view)).toContain('ops-kit — bundle: sandbox admin, prod-db read, deployers member');
    const res = await e.signer.submit(PEOPLE.engineer2, 'request_form', {
      resource: { resource_value: { type: 'static_select', selected_option: { value: 'ops-kit' } } },
      duration: { duration_value: { type: 'plain_text_input', value: '30m' } },
      reason: { reason_value: { type: 'plain_text_input', value: 'INC-47 from the form' } },
    });
    expect(res.status).toBe(200);
    const request = await e.slack.waitFor(async () => (await e.sesame.store.requestsBy(PEOPLE.engineer2, ['approved'])).find((r) => r.resource === 'ops-kit'), 'the bundle request');
    await e.slack.waitFor(async () => (await grantsOf(request.id)).filter((g) => g.state === 'active').length === 3, 'three member grants');
  });

  it('asks for every member\'s approvers on one card listing the members, refusing the requester\'s own click', async () => {
    const text = await reply('request db-admin 1h INC-46 schema change');
    expect(text).toContain('for `db-admin` (bundle: `prod-db` `read`, `prod-db` `write`)');
    expect(text).toContain('is waiting for `security`');
    const id = /`(R\d+)`/.exec(text)?.[1] ?? '';
    const requestId = Number(id.slice(1));
    // prod-db write's tier (security, then two sre-leads) decides, although prod-db read alone is auto-approved.
    expect(await e.sesame.store.getRequest(requestId)).toMatchObject({ tier: 'high', steps: [{ from: 'security', count: 1 }, { from: 'sre-leads', count: 2 }] });
    const card = await e.slack.waitFor(() => e.slack.callsTo('chat.postMessage').find((c) => c.channel === 'C0APPROVALS' && JSON.stringify(c.blocks ?? '').includes(id)), 'the bundle card');
    expect(JSON.stringify(card.blocks)).toContain('`db-admin` (bundle: `prod-db` `read`, `prod-db` `write`)');
    const refusal = await click(PEOPLE.engineer, 'approve_request', id);
    expect(String((await e.slack.waitFor(() => e.slack.responsesTo(refusal)[0], 'the refusal')).text)).toContain('You cannot decide on your own request');
    await click(PEOPLE.security, 'approve_request', id);
    await e.slack.waitFor(async () => (await e.sesame.store.getRequest(requestId))?.currentStep === 1, 'step 2');
    await click(PEOPLE.lead1, 'approve_request', id);
    await click(PEOPLE.lead2, 'approve_request', id);
    await e.slack.waitFor(async () => (await grantsOf(requestId)).filter((g) => g.state === 'active').length === 2, 'both member grants');
    const cardTs = (await e.sesame.store.getRequest(requestId))?.cardTs;
    await e.slack.waitFor(() => e.slack.callsTo('chat.update').filter((c) => c.ts === cardTs).some((c) => JSON.stringify(c.blocks ?? '').includes('Grants: ')), 'the card listing the grants');
  });
});
