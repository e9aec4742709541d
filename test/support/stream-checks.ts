// What every audit stream test asserts about a SIEM's copy: complete, in chain order, and verifiable against the chain.
import { expect } from 'vitest';
import { entryHash, GENESIS_HASH, type ExportedEntry } from '../../src/store/audit.ts';
import type { SiemReceiver } from './siem-receiver.ts';

/** Each copy's hash recomputed from its own fields and linked to the one before: the SIEM can check it without Sesame. */
export function expectChainVerifies(entries: readonly ExportedEntry[]): void {
  let prev = GENESIS_HASH;
  for (const { prev_hash: prevHash, hash, ...fields } of entries) {
    expect(prevHash, `entry ${fields.id} links to the one before`).toBe(prev);
    expect(entryHash(prevHash, fields), `entry ${fields.id} hashes to its hash`).toBe(hash);
    prev = hash;
  }
}

/**
 * At least once, never out of order: every POST carries consecutive entries starting right after the last one the
 * receiver acknowledged with a 2xx (for _bulk, the last of the items it stored from the first), so a duplicate is only
 * ever a batch sent again after a failed ack.
 */
export function expectResentOnlyAfterFailedAcks(receiver: SiemReceiver): void {
  let acknowledged = 0;
  for (const post of receiver.posts.filter((p) => p.signatureValid)) {
    const ids = post.entries.map((e) => e.id);
    expect(ids[0], `a POST of ${ids.join(',')} starts after the last acknowledged entry ${acknowledged}`).toBe(acknowledged + 1);
    expect(ids).toEqual(ids.map((_, i) => acknowledged + 1 + i));
    if (post.status === 200) acknowledged = ids[post.acknowledged - 1] ?? acknowledged;
  }
}

/** The SIEM's copy without the re-sent duplicates, in the order it first indexed them. */
export const firstCopies = (stored: readonly ExportedEntry[]): ExportedEntry[] => {
  const seen = new Set<number>();
  return stored.filter((e) => !seen.has(e.id) && seen.add(e.id));
};
