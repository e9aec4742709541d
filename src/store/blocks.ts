// The block list of `/access revoke-all`: who is blocked, and the writes, each inside the transaction that audits it.
import { eq } from 'drizzle-orm';
import type { Db } from './db.ts';
import { hotQueries } from './hot-queries.ts';
import { blockedUsers, type BlockedUserRow } from './schema.ts';

export function blockOf(db: Db, user: string): BlockedUserRow | undefined {
  return hotQueries(db).block.get({ user });
}

export const isBlocked = (db: Db, user: string): boolean => blockOf(db, user) !== undefined;

/** False when the person was already blocked (the first block, its reason and its author stand). */
export function insertBlock(db: Db, row: BlockedUserRow): boolean {
  return db.insert(blockedUsers).values(row).onConflictDoNothing().run().changes === 1;
}

/** False when the person was not blocked. */
export function deleteBlock(db: Db, user: string): boolean {
  return db.delete(blockedUsers).where(eq(blockedUsers.user, user)).run().changes === 1;
}
