// Refused cancel, revoke, extend and acknowledge attempts, sent as signed Slack traffic, each leave exactly one audit entry.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

interface Entry {
  actor: string;
  action: string;
  request_id: string | null;
  grant_id: string | null;
  details: { code?: string; state?: string };
}

describe('refused actions are audited, end to end', () => {
  let e: E2E;
  beforeAll(async () => {
    e = await startE2E(NOOP_PROVIDERS);
  });
  afterAll(async () => {
    expect((await e.verifyChain()).ok).toBe(true);
    await e.stop();
  });

  const reply = async (text: string, user: string, channel?: string) => {
    const sent = await e.signer.command(text, { user, channel });
    expect(sent.status).toBe(200);
    const body = await e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], `a reply to "${text}"`);
    return String(body.text);
  };
  const clickReply = async (user: string, actionId: string, value: string) => {
    const sent = await e.signer.click(user, actionId, value);
    expect(sent.status).toBe(200);
    return e.slack.waitFor(() => e.slack.responsesTo(sent.responseId)[0], 'an ephemeral reply').then((b) => String(b.text));
  };
  const lastId = async () => ((await e.sql.get('SELECT coalesce(max(id), 0) AS n FROM audit_log')) as { n: number }).n;
  const entriesAfter = async (id: number): Promise<Entry[]> =>
    ((await e.sql.all('SELECT actor, action, request_id, grant_id, details FROM audit_log WHERE id > ? ORDER BY id', id)) as (Omit<Entry, 'details'> & { details: string })[]).map((r) => ({ ...r, details: JSON.parse(r.details) as Entry['details'] }));
  /** Runs one attempt and returns the entries it wrote, waiting for the reply so the entries are in. */
  const attempt = async (act: () => Promise<string>): Promise<{ text: string; entries: Entry[] }> => {
    const before = await lastId();
    const text = await act();
    return { text, entries: await entriesAfter(before) };
  };
  const idOf = (prefix: 'R' | 'G', text: string) => new RegExp(`\`(${prefix}\\d+)\``).exec(text)?.[1] ?? '';

  it('audits a cancel of somebody else\'s request, of an unknown one and of one already closed, once each', async () => {
    const requestId = idOf('R', await reply('request prod-db write 1h migration INC-7', PEOPLE.engineer));
    const byOther = await attempt(() => reply(`cancel ${requestId}`, PEOPLE.engineer2));
    expect(byOther.text).toContain('only the person who asked');
    expect(byOther.entries).toEqual([{ actor: PEOPLE.engineer2, action: 'request.cancel_refused', request_id: requestId, grant_id: null, details: { code: 'not_requester', state: 'pending' } }]);

    const byButton = await attempt(() => clickReply(PEOPLE.engineer2, 'cancel_request', requestId));
    expect(byButton.entries).toMatchObject([{ actor: PEOPLE.engineer2, action: 'request.cancel_refused', request_id: requestId, details: { code: 'not_requester' } }]);

    const unknown = await attempt(() => reply('cancel R9999', PEOPLE.engineer2));
    expect(unknown.entries).toMatchObject([{ action: 'request.cancel_refused', request_id: 'R9999', details: { code: 'request_not_found' } }]);

    await reply(`cancel ${requestId}`, PEOPLE.engineer);
    const again = await attempt(() => reply(`cancel ${requestId}`, PEOPLE.engineer));
    expect(again.text).toContain('already cancelled');
    expect(again.entries).toMatchObject([{ action: 'request.cancel_refused', request_id: requestId, details: { code: 'not_pending', state: 'cancelled' } }]);
  });

  it('audits a revoke and an extension of somebody else\'s grant, and of a grant that has ended', async () => {
    const granted = await reply('request sandbox 1h trying INC-1', PEOPLE.engineer);
    const grantId = idOf('G', granted);
    const requestId = `R${(await e.sesame.store.getGrant(Number(grantId.slice(1))))?.requestId}`;

    const revoke = await attempt(() => reply(`revoke ${grantId}`, PEOPLE.engineer2));
    expect(revoke.text).toContain(grantId);
    expect(revoke.entries).toEqual([{ actor: PEOPLE.engineer2, action: 'grant.revoke_refused', request_id: requestId, grant_id: grantId, details: { code: 'not_grant_owner', state: 'active' } }]);

    const revokeButton = await attempt(() => clickReply(PEOPLE.engineer2, 'revoke_grant', grantId));
    expect(revokeButton.entries).toMatchObject([{ action: 'grant.revoke_refused', grant_id: grantId, details: { code: 'not_grant_owner' } }]);

    const extend = await attempt(() => reply(`extend ${grantId} 30m`, PEOPLE.engineer2));
    expect(extend.entries).toEqual([{ actor: PEOPLE.engineer2, action: 'grant.extend_refused', request_id: requestId, grant_id: grantId, details: { code: 'not_grant_owner', state: 'active' } }]);

    const extendForm = await attempt(async () => {
      const sent = await e.signer.submit(PEOPLE.engineer2, 'extend_form', { duration: { duration_value: { type: 'plain_text_input', value: '30m' } } }, grantId);
      return sent.body;
    });
    expect(extendForm.text).toContain('errors');
    expect(extendForm.entries).toMatchObject([{ action: 'grant.extend_refused', grant_id: grantId, details: { code: 'not_grant_owner' } }]);

    const unknown = await attempt(() => reply('revoke G9999', PEOPLE.engineer));
    expect(unknown.entries).toMatchObject([{ action: 'grant.revoke_refused', grant_id: 'G9999', details: { code: 'grant_not_found' } }]);

    expect(await reply(`revoke ${grantId}`, PEOPLE.engineer)).toContain('is revoked');
    const ended = await attempt(() => reply(`revoke ${grantId}`, PEOPLE.engineer));
    expect(ended.entries).toMatchObject([{ actor: PEOPLE.engineer, action: 'grant.revoke_refused', grant_id: grantId, details: { code: 'not_active', state: 'revoked' } }]);
    const extendEnded = await attempt(() => reply(`extend ${grantId} 30m`, PEOPLE.engineer));
    expect(extendEnded.entries).toMatchObject([{ actor: PEOPLE.engineer, action: 'grant.extend_refused', grant_id: grantId, details: { code: 'not_active', state: 'revoked' } }]);
  });

  it('audits an extension the policy refuses as an extension of that grant', async () => {
    const grantId = idOf('G', await reply('request sandbox 1h trying INC-2', PEOPLE.engineer));
    const tooLong = await attempt(() => reply(`extend ${grantId} 9h`, PEOPLE.engineer));
    expect(tooLong.text).toContain('maximum');
    expect(tooLong.entries).toMatchObject([{ actor: PEOPLE.engineer, action: 'grant.extend_refused', grant_id: grantId, details: { code: 'extension_too_long' } }]);
  });

  it('audits a request the form refuses before it closes, as a refused request', async () => {
    const form = await attempt(async () => {
      const sent = await e.signer.submit(PEOPLE.outsider, 'request_form', {
        resource: { resource_value: { type: 'static_select', selected_option: { value: 'prod-db' } } },
        role: { role_value: { type: 'static_select', selected_option: { value: 'write' } } },
        reason: { reason_value: { type: 'plain_text_input', value: 'let me in' } },
      });
      return sent.body;
    });
    expect(JSON.parse(form.text)).toMatchObject({ response_action: 'errors' });
    expect(form.entries).toMatchObject([{ actor: PEOPLE.outsider, action: 'request.refused', details: { code: 'not_eligible', resource: 'prod-db' } }]);
  });

  it('audits a refused break-glass acknowledgement by the user themself and by an outsider', async () => {
    const grantId = idOf('G', await reply('breakglass prod-db read 30m INC-43 cache stampede', PEOPLE.oncall, 'C0INC42'));
    const own = await attempt(() => clickReply(PEOPLE.oncall, 'acknowledge_breakglass', grantId));
    expect(own.entries).toMatchObject([{ actor: PEOPLE.oncall, action: 'breakglass.review_refused', grant_id: grantId, details: { code: 'review_own' } }]);
    const outsider = await attempt(() => clickReply(PEOPLE.outsider, 'acknowledge_breakglass', grantId));
    expect(outsider.entries).toMatchObject([{ actor: PEOPLE.outsider, action: 'breakglass.review_refused', grant_id: grantId, details: { code: 'review_not_in_group' } }]);
    expect((await e.sesame.store.getGrant(Number(grantId.slice(1))))?.reviewedBy).toBeNull();
  });
});
