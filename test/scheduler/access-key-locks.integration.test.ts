// Grants and ends that share an access key take turns. On SQLite one process serves the database (the instance lock),
// so the turns are kept in-process and a lifecycle makes no lock round trips to Redis; on PostgreSQL replicas share
// the database, and the lock is in Redis.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOOP_PROVIDERS, PEOPLE, startE2E, type E2E } from '../support/e2e.ts';
import { monitorRedis, type RedisMonitor } from '../support/redis-monitor.ts';

const onPostgres = process.env.SESAME_TEST_STORE === 'postgres';

describe('access-key locks', () => {
  const prefix = `sesame-locks-${randomUUID()}`;
  let monitor: RedisMonitor;
  const client = new Redis('redis://127.0.0.1:6379/0');
  let e: E2E;

  beforeAll(async () => {
    monitor = await monitorRedis();
    // A low tier, so the request is granted at once.
    e = await startE2E({ resources: { ...NOOP_PROVIDERS?.resources, deployers: { tier: 'low' } } }, { redisPrefix: prefix });
  });
  afterAll(async () => {
    monitor?.close();
    client.disconnect();
    await e.stop(); // deletes the prefix's keys, the marker's too
  });

  const seen = () => monitor.seen;
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
    // MONITOR reports commands in the order Redis ran them: once a marker sent after both answers shows, all is in.
    const marker = `${prefix}:marker`;
    await client.set(marker, '1', 'EX', 60);
    await e.slack.waitFor(() => seen().some((args) => args[0] === 'set' && args[1] === marker), 'the marker to show in MONITOR');
    const lockTaken = (kind: string) => seen().filter((args) => args[0] === 'set' && args[1]?.startsWith(`${prefix}:lock:${kind}:`)).length;
    // The person's access key, for the grant and for its end; the group's member list, for each change to it.
    if (onPostgres) {
      expect(lockTaken('slack_usergroup')).toBe(2);
      expect(lockTaken('slack_usergroup_members')).toBeGreaterThanOrEqual(2);
    } else {
      expect({ accessKey: lockTaken('slack_usergroup'), memberList: lockTaken('slack_usergroup_members') }).toEqual({ accessKey: 0, memberList: 0 });
    }
  });
});
