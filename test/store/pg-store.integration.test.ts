// PostgreSQL with several replicas: two pools on one database decide a request exactly once, keep one audit chain,
// count one person's approval once, and hash entries as SQLite does (a chain moved either way verifies).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOST_RACE, type TransactionPort } from '../../src/core/store-port.ts';
import { AuditLog, verifyAuditChain } from '../../src/store/audit.ts';
import { verifyPgAuditChain } from '../../src/store/pg/audit.ts';
import { auditLog } from '../../src/store/pg/schema.ts';
import type { PgStore } from '../../src/store/pg/store.ts';
import { auditLog as sqliteAuditLog } from '../../src/store/schema.ts';
import { postgresFactory, POLICY_SHA, type OpenedStore } from '../support/store-factories.ts';
import { tempDb } from '../support/temp-db.ts';

const now = new Date('2026-11-23T09:00:00Z');

async function insertPending(store: PgStore, requester: string) {
  const request = await store.transaction(now, (tx) =>
    tx.insertRequest({ requester, resource: 'sandbox', role: 'admin', tier: 'high', durationMs: 3_600_000, reason: 'r', tickets: [], state: 'pending', steps: [{ from: 'security', count: 1 }], rule: 'test', createdAt: now.getTime() }),
  );
  if (request === LOST_RACE) throw new Error('insert lost');
  return request;
}

/** A decision as the core makes it: the conditional update first, its audit entry only if it won. */
const decide = (store: PgStore, id: number, state: 'approved' | 'denied') =>
  store.transaction(now, async (tx: TransactionPort) => {
    if (!(await tx.updateRequest(id, 'pending', { state, decidedBy: state === 'approved' ? 'UA' : 'UB', decidedAt: now.getTime() }))) tx.abort();
    await tx.audit({ actor: 'U9', action: state === 'approved' ? 'request.approved' : 'request.denied', requestId: `R${id}` });
    return state;
  });

describe('PostgreSQL replicas', () => {
  let opened: OpenedStore;
  let a: PgStore;
  let b: PgStore;
  beforeAll(async () => {
    opened = await postgresFactory.open();
    a = opened.store as PgStore;
    b = (await opened.replica?.()) as PgStore;
  });
  afterAll(() => opened.close());

  it('lets exactly one of two replicas decide each request, with exactly one audit entry per decision', async () => {
    const requests = await Promise.all(Array.from({ length: 20 }, (_, i) => insertPending(a, `UR${i}`)));
    const outcomes = await Promise.all(requests.map((r) => Promise.all([decide(a, r.id, 'approved'), decide(b, r.id, 'denied')])));
    for (const [i, pair] of outcomes.entries()) {
      expect(pair.filter((o) => o === LOST_RACE), `request ${requests[i]?.id}`).toHaveLength(1);
      const winner = pair.find((o) => o !== LOST_RACE);
      expect((await b.getRequest(requests[i]!.id))?.state).toBe(winner);
    }
    const decisions = await a.db.$client.query("SELECT count(*)::int AS n FROM audit_log WHERE action IN ('request.approved', 'request.denied')");
    expect(decisions.rows).toEqual([{ n: 20 }]);
    expect(await verifyPgAuditChain(a.db)).toMatchObject({ ok: true });
  });

  it('keeps one chain while both replicas append at once', async () => {
    const before = (await verifyPgAuditChain(a.db)).entries;
    const append = (store: PgStore, actor: string) =>
      Promise.all(Array.from({ length: 40 }, (_, i) => store.transaction(now, async (tx) => [await tx.audit({ actor, action: 'request.created', details: { i } }), await tx.audit({ actor, action: 'grant.activated', details: { i } })])));
    await Promise.all([append(a, 'UA'), append(b, 'UB')]);
    const ids = (await a.db.select({ id: auditLog.id }).from(auditLog)).map((r) => r.id).sort((x, y) => x - y);
    expect(ids).toEqual(Array.from({ length: before + 160 }, (_, i) => i + 1));
    expect(await verifyPgAuditChain(b.db)).toMatchObject({ ok: true, entries: before + 160 });
  });

  it('counts one person approving one step once, whichever replicas their clicks reach', async () => {
    const request = await insertPending(a, 'UC');
    const clicks = await Promise.all([a, b, a, b].map((store, i) => store.transaction(now, (tx) => tx.insertApproval(request.id, 0, 'U5', now.getTime() + i))));
    expect(clicks.filter((won) => won === true)).toHaveLength(1);
    expect(await a.approvalsFor(request.id)).toHaveLength(1);
  });

  it('makes a second replica wait for the first one’s transaction, and go on once it commits', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let entered = (): void => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const first = a.transaction(now, async (tx) => {
      const entry = await tx.audit({ actor: 'UA', action: 'policy.loaded' });
      entered();
      await held;
      return entry;
    });
    await inside;
    const second = b.transaction(now, (tx) => tx.audit({ actor: 'UB', action: 'policy.loaded' }));
    // The second waits on the write lock: PostgreSQL shows its advisory lock request as not granted.
    let waiting = 0;
    for (let polls = 0; waiting === 0 && polls < 500; polls++) {
      const locks = await a.db.$client.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      waiting = (locks.rows[0] as { n: number }).n;
      if (waiting === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(waiting).toBe(1);
    release();
    const [one, two] = await Promise.all([first, second]);
    if (one === LOST_RACE || two === LOST_RACE) throw new Error('no race to lose here');
    expect(two.id).toBe(one.id + 1);
    expect(two.prevHash).toBe(one.hash);
  });

  it('stores a null JSON column as NULL, as SQLite does, not as the text "null"', async () => {
    const request = await insertPending(a, 'UN');
    const { rows } = await a.db.$client.query('SELECT bundle_members IS NULL AS is_null FROM requests WHERE id = $1', [request.id]);
    expect(rows).toEqual([{ is_null: true }]);
  });
});

describe('the audit chain across dialects', () => {
  let opened: OpenedStore;
  beforeAll(async () => {
    opened = await postgresFactory.open();
  });
  afterAll(() => opened.close());

  it('hashes as SQLite does: a chain written by one verifies in the other', async () => {
    const pg = opened.store as PgStore;
    const entries = [
      { actor: 'U1', action: 'request.created' as const, requestId: 'R1', details: { tickets: ['INC-1'], b: { y: 1, x: [true, null] } } },
      { actor: 'sesame', action: 'grant.activated' as const, grantId: 'G1', details: { note: 'naïve — 東京' } },
    ];
    const sqlite = tempDb();
    try {
      const log = new AuditLog(sqlite.db.$client);
      const fromSqlite = sqlite.db.$client.transaction(() => entries.map((e) => log.append(e, POLICY_SHA, now)))();
      const fromPg = await pg.audit(now, ...entries);
      // The same entries at the same time after the same (empty) head: byte for byte the same rows.
      expect(fromPg).toEqual(fromSqlite);
      // A SQLite log copied into PostgreSQL verifies there, and PostgreSQL's copied into SQLite verifies there.
      const more = await pg.audit(now, { actor: 'U2', action: 'user.blocked', details: { user: 'U3' } });
      const copy = tempDb();
      try {
        const rows = await pg.db.select().from(auditLog);
        copy.db.insert(sqliteAuditLog).values(rows).run();
        expect(verifyAuditChain(copy.db.$client)).toMatchObject({ ok: true, entries: 3, head: { id: 3, hash: more[0]?.hash } });
      } finally {
        copy.cleanup();
      }
    } finally {
      sqlite.cleanup();
    }
    expect(await verifyPgAuditChain(pg.db)).toMatchObject({ ok: true, entries: 3 });
  });

  it('tells where a chain was broken, as SQLite does', async () => {
    const pg = opened.store as PgStore;
    await pg.db.$client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update');
    try {
      await pg.db.$client.query("UPDATE audit_log SET actor = 'someone else' WHERE id = 2");
    } finally {
      await pg.db.$client.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update');
    }
    expect(await verifyPgAuditChain(pg.db)).toEqual({ ok: false, entries: 1, brokenAt: 2, problem: 'entry 2 was changed after it was written (its hash does not match its contents)' });
  });
});
