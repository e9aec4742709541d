// Grants and ends of one person's membership of one Slack user group, requested and revoked at once over signed HTTP
// (they share one access key, so they take turns: in-process on SQLite, through Redis locks on PostgreSQL). After each
// round the person must be in the group exactly when a grant of it is live.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

describe('shared user-group membership under concurrent grants and ends', () => {
  const prefix = `sesame-shared-group-${randomUUID()}`;
  let e: E2E;

  beforeAll(async () => {
    e = await startE2E({ resources: { ...NOOP_PROVIDERS?.resources, deployers: { tier: 'low' } } }, { redisPrefix: prefix });
  });
  afterAll(async () => {
    await e.stop();
  });

  const ask = async (text: string, user: string = PEOPLE.engineer) => {
    const sent = await e.signer.command(text, { user });
    return String((await e.slack.firstResponse(sent.responseId)).text);
  };
  const liveGrants = async () => (await e.sql.all<{ id: number }>(`SELECT id FROM grants WHERE "user" = '${PEOPLE.engineer}' AND state IN ('active', 'pending', 'revoke_failed')`)).map((r) => r.id);
  const member = () => (e.slack.usergroups.get('S0DEPLOY') ?? []).includes(PEOPLE.engineer);

  it('keeps membership equal to "a grant is live" through racing requests and revokes', async () => {
    e.slack.usergroups.set('S0DEPLOY', [PEOPLE.lead1]);
    const held: string[] = [];
    const problems: string[] = [];
    for (let round = 0; round < 6; round++) {
      // Revoke everything held while as many new grants are requested, all at once.
      const revokes = held.splice(0).map((g) => ask(`revoke ${g}`));
      const requests = Array.from({ length: 3 }, (_, i) => ask(`request deployers member 30m round ${round} ${i}`));
      const answers = await Promise.all([...revokes, ...requests]);
      for (const text of answers.slice(revokes.length)) {
        const g = /`(G\d+)`/.exec(text)?.[1];
        if (g) held.push(g);
      }
      const live = await liveGrants();
      if (member() !== live.length > 0) problems.push(`round ${round}: member=${member()} live=${JSON.stringify(live)} answers=${JSON.stringify(answers.map((a) => a.slice(0, 80)))}`);
    }
    await Promise.all(held.splice(0).map((g) => ask(`revoke ${g}`)));
    if (member() || (await liveGrants()).length > 0) problems.push(`end: member=${member()} live=${JSON.stringify(await liveGrants())}`);
    expect(problems).toEqual([]);
    expect(e.slack.usergroups.get('S0DEPLOY')).toEqual([PEOPLE.lead1]);
  }, 60_000);
});
