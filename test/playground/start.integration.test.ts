// startPlayground with POLICY_PATH: the workspace is filled from that policy, and a broken one is refused with its problems.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { StartupError } from '../../src/main.ts';
import type { Snapshot } from '../../src/playground/protocol.ts';
import { startPlayground } from '../../src/playground/start.ts';
import { deleteKeys } from '../support/e2e.ts';

const POLICY = `version: 1
settings: { approvals_channel: C0OPS, audit_channel: C0LOG }
groups:
  team: { users: [U0XENA, U0YURI] }
  pager: { slack_usergroup: S0PAGER }
tiers:
  low: { auto_approve: always, max_duration: 1h }
resources:
  wiki: { tier: low, roles: [edit], approvals_channel: C0WIKI, provider: { type: noop } }
`;

describe('startPlayground', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-playground-start-'));
  const prefix = `sesame-playground-test-${randomUUID()}`;
  afterAll(async () => {
    await deleteKeys(`${prefix}:*`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('acts out the policy POLICY_PATH names: its people, its channels and its user groups', async () => {
    writeFileSync(join(dir, 'mine.yaml'), POLICY);
    const playground = await startPlayground({ env: { POLICY_PATH: join(dir, 'mine.yaml'), DATABASE_PATH: join(dir, 'mine.db') }, port: 0, redisPrefix: prefix, log: pino({ level: 'silent' }) });
    try {
      const state = (await (await fetch(`${playground.url}ui/state`)).json()) as Snapshot;
      expect(state.people.map((p) => p.id)).toEqual(['U0XENA', 'U0YURI']);
      expect(state.me).toBe('U0XENA');
      expect(state.channels.map((c) => c.id)).toEqual(['C0GENERAL', 'C0OPS', 'C0WIKI', 'C0INC42', 'C0LOG']);
      // A user group the playground does not know exists, empty, so membership look-ups answer rather than fail.
      expect(playground.slack.usergroups.get('S0PAGER')).toEqual([]);
      expect((await playground.sesame.store.recent.auditEntries(1))[0]?.id).toBe(1); // policy.loaded, in its own database
    } finally {
      await playground.stop();
    }
  });

  it('refuses a policy with problems, saying where each one is', async () => {
    writeFileSync(join(dir, 'broken.yaml'), POLICY.replace('max_duration: 1h', 'max_duraton: 1h'));
    const started = startPlayground({ env: { POLICY_PATH: join(dir, 'broken.yaml'), DATABASE_PATH: join(dir, 'broken.db') }, port: 0, redisPrefix: prefix, log: pino({ level: 'silent' }) });
    await expect(started).rejects.toBeInstanceOf(StartupError);
    await expect(started).rejects.toThrow(/broken\.yaml:\d+:\d+ .*max_duraton/);
  });
});
