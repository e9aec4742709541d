// Grants and ends that share an access key take turns. On SQLite one process serves the database (the instance lock),
// so the turns are kept in-process and a lifecycle makes no lock round trips to Redis; on PostgreSQL replicas share
// the database, and the lock is in Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';

const onPostgres = process.env.SESAME_TEST_STORE === 'postgres';

describe('access-key locks', () => {
  const prefix = `sesame-locks-${randomUUID()}`;
  const seen: string[][] = [];
  let monitor: Awaited<ReturnType<Redis['monitor']>>;
  let e: E2E;

  beforeAll(async () => {
    monitor = await new Redis('redis://127.0.0.1:6379/0').monitor();
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    // A low tier, so the request is granted at once.
    e = await startE2E({ resources: { ...NOOP_PROVIDERS?.resources, deployers: { tier: 'low' } } }, { redisPrefix: prefix });
  });
  afterAll(async () => {
    monitor.disconnect();
    await e.stop();
  });

  const ask = async (text: string) => {
    const sent = await e.signer.command(text, { user: PEOPLE.engineer });
    return String((await e.slack.firstResponse(sent.responseId)).text);
  };

  it(onPostgres ? 'takes the lock in Redis for a grant and for its end' : 'grants and ends a user-group membership without a lock in Redis', async () => {
    e.slack.usergroups.set('S0DEPLOY', [PEOPLE.lead1]);
    const granted = await ask('request deployers member 30m shipping a hotfix');
    const grant = /`(G\d+)`/.exec(granted)?.[1];
    expect(grant, granted).toBeDefined();
    expect(e.slack.usergroups.get('S0DEPLOY')).toEqual([PEOPLE.lead1, PEOPLE.engineer]);
    expect(await ask(`revoke ${grant}`)).toContain('is revoked');
    expect(e.slack.usergroups.get('S0DEPLOY')).toEqual([PEOPLE.lead1]);
    // MONITOR reports commands a moment after they ran; the revoke command's replay key is among the last.
    await e.slack.waitFor(() => seen.filter((args) => args[0] === 'set' && args[1]?.startsWith(`${prefix}:replay:`)).length >= 2, 'both commands to show in MONITOR');
    const lockTaken = seen.filter((args) => args[0] === 'set' && args[1]?.startsWith(`${prefix}:lock:`));
    if (onPostgres) expect(lockTaken.length).toBeGreaterThanOrEqual(2); // the access key's, for the grant and its end; the user group's too
    else expect(lockTaken).toEqual([]);
  });
});
