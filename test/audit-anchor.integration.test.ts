// Audit anchoring: the chain head goes to the audit channel on a timer and at shutdown, and matches the log.
import { describe, expect, it } from 'vitest';
import { createAnchorPoster } from '../src/audit-anchor.ts';
import { auditEntryHash } from '../src/store/audit.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { silentLogger } from './support/fakes.ts';
import { tempDb } from './support/temp-db.ts';
import { NOOP_PROVIDERS, PEOPLE, startE2E } from './support/e2e.ts';

const ANCHOR = /Audit anchor `(\d+):([0-9a-f]{64})`/;

describe('audit anchoring', () => {
  it('posts the chain head while running and at shutdown, each matching the log', async () => {
    const e = await startE2E(NOOP_PROVIDERS, { anchorIntervalMs: 100 });
    const anchorsPosted = () => e.slack.callsTo('chat.postMessage').filter((c) => c.channel === 'C0AUDIT' && ANCHOR.test(String(c.text))).map((c) => ANCHOR.exec(String(c.text)) as RegExpExecArray);
    let headAtStop: { id: number; hash: string } | undefined;
    try {
      await e.signer.command('request sandbox 1h anchor test', { user: PEOPLE.engineer });
      await e.slack.waitFor(() => e.sql.get("SELECT 1 FROM audit_log WHERE action = 'grant.activated'"), 'the grant');
      const [, id, hash] = await e.slack.waitFor(() => anchorsPosted().find((m) => Number(m[1]) >= 4), 'an anchor after the grant');
      expect(await e.sql.get('SELECT hash FROM audit_log WHERE id = ?', Number(id))).toEqual({ hash });
      // An unchanged head is not posted again.
      await new Promise((r) => setTimeout(r, 350));
      const heads = anchorsPosted().map((m) => m[1]);
      expect(new Set(heads).size).toBe(heads.length);

      // Something new just before shutdown: only the shutdown anchor can cover it.
      await e.signer.command('request sandbox 1h the last one', { user: PEOPLE.engineer2 });
      await e.slack.waitFor(() => e.sql.get("SELECT 1 FROM audit_log WHERE action = 'grant.activated' AND actor = 'sesame' AND request_id = 'R2'"), 'the second grant');
      expect((await e.verifyChain()).ok).toBe(true);
      headAtStop = await e.sql.get<{ id: number; hash: string }>('SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1');
    } finally {
      await e.stop();
    }
    expect(anchorsPosted().at(-1)?.slice(1, 3)).toEqual([String(headAtStop?.id), headAtStop?.hash]);
  });
});

describe('createAnchorPoster', () => {
  it('posts at stop even when the timer has not fired, skips an unchanged head, and survives a failing post', async () => {
    const temp = tempDb();
    try {
      const store = new SqliteStore(temp.db, () => 'a'.repeat(64));
      const posted: string[] = [];
      let failNext = false;
      const poster = createAnchorPoster({
        auditLog: store.auditLog,
        log: silentLogger,
        intervalMs: () => 3_600_000,
        target: () => null,
        post: async (text) => {
          if (failNext) throw new Error('Slack is down');
          posted.push(text);
          return true;
        },
      });
      poster.start();
      expect(await poster.postNow()).toBeNull(); // an empty log has no head
      await store.audit(new Date(), { actor: 'U1', action: 'policy.loaded' });
      failNext = true;
      expect(await poster.postNow()).toMatchObject({ id: 1 }); // logged even though the post failed
      failNext = false;
      await poster.stop();
      expect(posted).toEqual([expect.stringContaining(`Audit anchor \`1:${auditEntryHash(temp.db.$client, 1)}\``)]);
      await poster.stop();
      expect(posted).toHaveLength(1);
    } finally {
      temp.cleanup();
    }
  });
});
