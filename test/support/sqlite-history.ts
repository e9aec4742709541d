// A SQLite database made by driving the real AccessService: requests, approvals, grants, extensions, a denial, a
// block, a break-glass review and a stream cursor, some hundreds of audit entries; for copy and dialect tests.
import { AuditStreamCursor } from '../../src/store/audit-stream-cursor.ts';
import { PEOPLE, sqliteAccessHarness, type SqliteHarness } from './access-harness.ts';
import { userBlocksOf } from './user-blocks.ts';

const HOUR = 3_600_000;

export interface SqliteHistory {
  h: SqliteHarness;
  /** Grants per kind of ending, to look them up after a copy. */
  grantIds: number[];
}

/** `rounds` rounds of about a dozen audit entries each, then the rarer events once. */
export async function sqliteHistory(rounds = 30): Promise<SqliteHistory> {
  const h = await sqliteAccessHarness();
  const { service, clock } = h;
  const grantIds: number[] = [];
  const ask = (requester: string, resource: string, role: string, extra: { breakglass?: boolean; channelId?: string } = {}) =>
    service.request({ requester, resource, role, duration: HOUR, reason: 'INC-42 copy history', ...extra });
  for (let round = 0; round < rounds; round++) {
    const auto = await ask(round % 2 === 0 ? PEOPLE.engineer : PEOPLE.engineer2, 'sandbox', 'admin');
    if (auto.value?.kind !== 'granted') throw new Error(`round ${round}: expected a grant, got ${JSON.stringify(auto)}`);
    grantIds.push(auto.value.grant.id);
    clock.advance(60_000);
    await service.extend(auto.value.grant.id, auto.value.grant.user, 30 * 60_000);
    const approved = await ask(PEOPLE.engineer, 'prod-db', 'write');
    if (approved.value?.kind !== 'pending') throw new Error(`round ${round}: expected a pending request`);
    await service.approve(approved.value.request.id, PEOPLE.security);
    await service.approve(approved.value.request.id, PEOPLE.lead1);
    await service.approve(approved.value.request.id, PEOPLE.lead2);
    const denied = await ask(PEOPLE.engineer2, 'prod-db', 'read');
    if (denied.value?.kind === 'pending') await service.deny(denied.value.request.id, PEOPLE.security, `not now (${round})`);
    clock.advance(10 * 60_000);
    if (round % 3 === 0) await service.revoke(auto.value.grant.id, auto.value.grant.user);
    else await service.expire(auto.value.grant.id);
  }
  const glass = await ask(PEOPLE.oncall, 'prod-db', 'write', { breakglass: true, channelId: 'C0INC42' });
  if (glass.value?.kind !== 'granted') throw new Error('expected a break-glass grant');
  await service.reviews.acknowledge(glass.value.grant.id, PEOPLE.security);
  const outcome = await userBlocksOf(h).revokeAll(PEOPLE.oncall, PEOPLE.security, 'laptop stolen');
  if (!outcome.ok) throw new Error(`revoke-all failed: ${JSON.stringify(outcome.error)}`);
  const cursor = new AuditStreamCursor(h.temp.db.$client);
  await cursor.advance('siem', { id: 5, hash: (h.temp.db.$client.prepare('SELECT hash FROM audit_log WHERE id = 5').get() as { hash: string }).hash }, clock.now().getTime());
  // Everything in the main file: the file's bytes then show whether a later reader changed it.
  h.temp.db.$client.pragma('wal_checkpoint(TRUNCATE)');
  return { h, grantIds };
}
