// The prepared queries of the hot path store what drizzle's built queries stored, and stay right when reused.
import { and, eq, gte, inArray, sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../src/store/audit.ts';
import { hotQueries } from '../../src/store/hot-queries.ts';
import { LOST_RACE, SqliteStore, type NewGrant, type NewRequest } from '../../src/store/repositories.ts';
import { auditLog, grants, requests } from '../../src/store/schema.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';
import { onPostgres } from '../support/store-factories.ts';

const SHA = 'b'.repeat(64);
const NOW = Date.UTC(2026, 11, 2, 9);
const at = (second: number) => new Date(NOW + second * 1000);

const aRequest = (overrides: Partial<NewRequest> = {}): Omit<NewRequest, 'id'> => ({
  requester: 'U1', resource: 'sandbox', role: 'admin', tier: 'low', durationMs: 3_600_000, reason: 'debugging "prod", again', tickets: ['T-1'],
  state: 'approved', steps: [], rule: 'tiers.low: auto', createdAt: NOW, ...overrides,
});
const aGrant = (requestId: number, overrides: Partial<NewGrant> = {}): Omit<NewGrant, 'id'> => ({
  requestId, user: 'U1', resource: 'sandbox', role: 'admin', provider: { type: 'webhook', url: 'http://127.0.0.1:1/hook' } as NewGrant['provider'],
  reason: 'r', state: 'pending', createdAt: NOW, ...overrides,
});

function committed<T>(result: T | typeof LOST_RACE): T {
  if (result === LOST_RACE) throw new Error('the transaction was expected to commit');
  return result;
}

/** The rows as SQLite holds them, so NULL and the text "null", 0 and false, can be told apart. */
const stored = (temp: TempDb, table: 'requests' | 'grants') => temp.db.$client.prepare(`SELECT * FROM ${table} ORDER BY id`).all();

// SQLite only: SqliteStore's hand-prepared statements against drizzle's built ones.
describe.skipIf(onPostgres)('hot queries', () => {
  let prepared: TempDb;
  let built: TempDb;
  let store: SqliteStore;
  beforeEach(() => {
    prepared = tempDb();
    built = tempDb();
    store = new SqliteStore(prepared.db, () => SHA);
  });
  afterEach(() => {
    prepared.cleanup();
    built.cleanup();
  });

  it('inserts and updates rows exactly as drizzle does when it builds the query, defaults, NULLs, JSON and booleans included', async () => {
    const requestRows = [aRequest(), aRequest({ breakglass: true, steps: [{ from: 'sre', count: 2 }] as NewRequest['steps'], bundleMembers: null, channelId: null, selfApproval: true }), aRequest({ bundleMembers: [{ resource: 'a', role: 'b' }], startsAt: NOW + 5 })];
    const grantRows = (requestId: number) => [aGrant(requestId), aGrant(requestId, { role: 'reader', breakglass: true, providerState: null, identity: 'u1@example.com', accessKey: 'k1' }), aGrant(requestId, { role: 'writer', providerState: { wasMember: false }, reviewLeads: ['U9'] })];
    const patches: [number, Partial<NewGrant>][] = [[1, { state: 'active', startsAt: NOW, expiresAt: NOW + 1, providerState: null }], [2, { state: 'active', providerState: { added: ['x'] }, cleanupPending: undefined }], [3, { state: 'failed', endedAt: NOW, cleanupPending: null }]];

    await store.transaction(at(0), async (tx) => {
      const made: Awaited<ReturnType<typeof tx.insertRequest>>[] = [];
      for (const row of requestRows) made.push(await tx.insertRequest(row));
      expect(made.map((r) => [r.id, r.currentStep, r.breakglass, r.bundleMembers])).toEqual([[1, 0, false, null], [2, 0, true, null], [3, 0, false, [{ resource: 'a', role: 'b' }]]]);
      for (const row of grantRows(1)) await tx.insertGrant(row);
      for (const [id, patch] of patches) expect(await tx.updateGrant(id, 'pending', patch)).toBe(true);
      expect(await tx.updateRequest(2, 'approved', { state: 'failed', decisionNote: null, escalateAt: undefined })).toBe(true);
    });

    const { db } = built;
    db.transaction(() => {
      for (const row of requestRows) db.insert(requests).values(row).returning().get();
      for (const row of grantRows(1)) db.insert(grants).values(row).returning().get();
      for (const [id, patch] of patches) db.update(grants).set(patch).where(and(eq(grants.id, id), inArray(grants.state, ['pending']))).run();
      db.update(requests).set({ state: 'failed', decisionNote: null, escalateAt: undefined }).where(and(eq(requests.id, 2), inArray(requests.state, ['approved']))).run();
    });

    expect(stored(prepared, 'requests')).toEqual(stored(built, 'requests'));
    expect(stored(prepared, 'grants')).toEqual(stored(built, 'grants'));
    expect((stored(prepared, 'grants')[0] as { provider_state: unknown }).provider_state).toBeNull();
  });

  it('reads and returns whole rows exactly as drizzle maps them, NULLs, JSON and booleans included', async () => {
    const requestRows = [aRequest(), aRequest({ breakglass: true, steps: [{ from: 'sre', count: 2 }] as NewRequest['steps'], channelId: null, selfApproval: true }), aRequest({ bundleMembers: [{ resource: 'a', role: 'b' }], startsAt: NOW + 5, tickets: [] })];
    const returned = committed(
      await store.transaction(at(0), async (tx) => {
        const made = [];
        for (const row of requestRows) made.push(await tx.insertRequest(row));
        const granted = [await tx.insertGrant(aGrant(1)), await tx.insertGrant(aGrant(1, { role: 'reader', breakglass: true, identity: 'u1@example.com', accessKey: 'k1', state: 'active' })), await tx.insertGrant(aGrant(1, { role: 'writer', providerState: { wasMember: false }, reviewLeads: ['U9'], accessKey: 'k1', state: 'active' }))];
        return { made, granted };
      }),
    );
    const { db } = prepared;
    const drizzleRequest = (id: number) => db.select().from(requests).where(eq(requests.id, id)).get();
    const drizzleGrant = (id: number) => db.select().from(grants).where(eq(grants.id, id)).get();
    for (const [i, made] of returned.made.entries()) {
      expect(made).toEqual(drizzleRequest(i + 1));
      expect(await store.getRequest(i + 1)).toEqual(drizzleRequest(i + 1));
    }
    for (const [i, granted] of returned.granted.entries()) {
      expect(granted).toEqual(drizzleGrant(i + 1));
      expect(await store.getGrant(i + 1)).toEqual(drizzleGrant(i + 1));
    }
    expect(await store.grantsOfRequest(1)).toEqual(db.select().from(grants).where(eq(grants.requestId, 1)).all());
    expect(await store.holdersOf('k1', 2, { pending: false })).toEqual([drizzleGrant(3)]);
    expect([await store.getGrant(99), await store.getRequest(99), await store.grantsOfRequest(99)]).toEqual([undefined, undefined, []]);
    // Every column is read: a field drizzle maps is never missing from Sesame's row.
    expect(Object.keys((await store.getGrant(3)) ?? {}).sort()).toEqual(Object.keys(drizzleGrant(3) ?? {}).sort());
  });

  it('binds each call its own values when one prepared update serves many transactions and patch shapes', async () => {
    const ids: number[] = [];
    for (const i of [1, 2, 3]) ids.push(committed(await store.transaction(at(i), async (tx) => (await tx.insertGrant(aGrant((await tx.insertRequest(aRequest({ requester: `U${i}` }))).id, { user: `U${i}` }))).id)));
    expect(ids).toEqual([1, 2, 3]);
    for (const id of ids) expect(await store.transaction(at(10), async (tx) => await tx.updateGrant(id, 'pending', { state: 'active', expiresAt: NOW + id }))).toBe(true);
    // Another shape in between, then the first again: neither keeps the other's values or conditions.
    expect(await store.transaction(at(11), async (tx) => await tx.updateGrant(2, 'active', { revokeAttempts: 7 }))).toBe(true);
    expect(await store.transaction(at(12), async (tx) => await tx.updateGrant(3, ['active', 'revoke_failed'], { state: 'revoked', endedAt: NOW + 12, endedBy: 'U3' }))).toBe(true);
    expect(await store.transaction(at(13), async (tx) => await tx.updateGrant(3, 'active', { state: 'expired' }) || tx.abort())).toBe(LOST_RACE);
    expect((await Promise.all(ids.map((id) => store.getGrant(id)))).map((g) => [g?.state, g?.expiresAt, g?.revokeAttempts, g?.endedBy])).toEqual([
      ['active', NOW + 1, 0, null],
      ['active', NOW + 2, 7, null],
      ['revoked', NOW + 3, 0, 'U3'],
    ]);
  });

  it('loses a conditional update on the step as on the state, and changes nothing then', async () => {
    await store.transaction(at(0), async (tx) => await tx.insertRequest(aRequest({ state: 'pending', steps: [{ from: 'a', count: 1 }, { from: 'b', count: 1 }] as NewRequest['steps'] })));
    expect(await store.transaction(at(1), async (tx) => await tx.updateRequest(1, 'pending', { currentStep: 1 }, 1) || tx.abort())).toBe(LOST_RACE);
    expect(await store.transaction(at(2), async (tx) => await tx.updateRequest(1, 'pending', { currentStep: 1 }, 0))).toBe(true);
    expect(await store.transaction(at(3), async (tx) => await tx.updateRequest(1, 'pending', { currentStep: 2 }, 0) || tx.abort())).toBe(LOST_RACE);
    expect((await store.getRequest(1))?.currentStep).toBe(1);
  });

  it('leaves no row behind from a rolled-back insert, and the next insert takes the id SQLite gives', async () => {
    const first = committed(await store.transaction(at(0), async (tx) => (await tx.insertRequest(aRequest())).id));
    expect(await store.transaction(at(1), async (tx) => (await tx.insertGrant(aGrant(first)), tx.abort()))).toBe(LOST_RACE);
    expect(await store.grantsOfRequest(first)).toEqual([]);
    const grant = committed(await store.transaction(at(2), async (tx) => await tx.insertGrant(aGrant(first, { role: 'reader' }))));
    expect([grant.id, (await store.grantsOfRequest(first)).map((g) => g.role)]).toEqual([1, ['reader']]);
  });

  it('keeps the audit chain whole when transactions of another SqliteStore on the same database run at once, one of them rolled back', async () => {
    const other = new SqliteStore(prepared.db, () => SHA);
    // Started together: the connection's one write lock runs them one after another, each transaction's entries in a row.
    const [, lost] = await Promise.all([
      store.transaction(at(0), async (tx) => {
        await tx.audit({ actor: 'U1', action: 'request.created', requestId: 'R1' });
        await tx.audit({ actor: 'policy', action: 'request.auto_approved', requestId: 'R1' });
        await tx.audit({ actor: 'sesame', action: 'grant.activated', requestId: 'R1' });
      }),
      other.transaction(at(0), async (inner) => (await inner.audit({ actor: 'U2', action: 'request.cancelled', requestId: 'R1' }), inner.abort())),
      other.transaction(at(0), (inner) => inner.audit({ actor: 'U3', action: 'request.created', requestId: 'R2' })),
    ]);
    expect(lost).toBe(LOST_RACE);
    expect(await store.transaction(at(1), async (tx) => (await tx.audit({ actor: 'U1', action: 'grant.revoked' }), tx.abort()))).toBe(LOST_RACE);
    await other.audit(at(2), { actor: 'U1', action: 'grant.revoked', requestId: 'R1' });
    await store.audit(at(3), { actor: 'sesame', action: 'policy.loaded' }, { actor: 'sesame', action: 'policy.loaded' });
    expect(verifyAuditChain(prepared.db.$client)).toMatchObject({ ok: true, entries: 7 });
    const actors = prepared.db.$client.prepare('SELECT actor FROM audit_log ORDER BY id').pluck().all();
    expect(actors).toEqual(['U1', 'policy', 'sesame', 'U3', 'U1', 'sesame', 'sesame']);
  });

  it('answers the block list from its prepared look-up for each person asked', async () => {
    const users = ['U1', 'U2'];
    prepared.db.$client.prepare("INSERT INTO blocked_users (user, blocked_by, reason, blocked_at) VALUES ('U2', 'UADMIN', 'stolen laptop', 1)").run();
    expect(await Promise.all(users.map((u) => store.isBlocked(u)))).toEqual([false, true]);
    expect(await Promise.all(users.map((u) => store.isBlocked(u)))).toEqual([false, true]);
  });

  it("finds a past block in the audit log with drizzle's own SQL, each call bound to its own person and time", async () => {
    const since = at(10).toISOString();
    const builtSql = built.db.select({ id: auditLog.id }).from(auditLog).where(and(eq(auditLog.action, 'user.blocked'), gte(auditLog.at, since), sql`json_extract(${auditLog.details}, '$.user') = ${'U2'}`)).limit(1).toSQL().sql;
    expect((hotQueries(prepared.db).blockEntrySince as unknown as { getQuery(): { sql: string } }).getQuery().sql).toBe(builtSql);
    await store.audit(at(20), { actor: 'UADMIN', action: 'user.blocked', details: { user: 'U2' } }); // then unblocked: no row in blocked_users
    const asked = [['U2', 10], ['U2', 30], ['U1', 10], ['U2', 20]] as const;
    expect(await Promise.all(asked.map(([user, second]) => store.blockedSince(user, at(second).getTime())))).toEqual([true, false, false, true]);
  });
});
