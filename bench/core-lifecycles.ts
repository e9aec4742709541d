// Lifecycles through the core alone: AccessService on a real SQLite file and BullMQ on real Redis, audited; no Slack.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { AccessService } from '../src/core/access-service.ts';
import { DEFAULT_RETRY } from '../src/core/retry.ts';
import { createMetrics, metricsObserver } from '../src/metrics.ts';
import { loadPolicyFile } from '../src/policy/load.ts';
import { createProviders } from '../src/providers/registry.ts';
import { createBullScheduler } from '../src/scheduler/bullmq-scheduler.ts';
import { openDatabase } from '../src/store/db.ts';
import { SqliteStore } from '../src/store/repositories.ts';
import { NOOP_PROVIDERS, PEOPLE } from '../test/support/e2e.ts';
import { noUsergroups } from '../test/support/fakes.ts';
import { aPolicyInput } from '../test/support/policy-fixtures.ts';
import { inParallel } from './stats.ts';

/** Full lifecycles per second (request → auto-approve → grant → revoke, every step audited), `count` of them. */
export async function coreLifecyclesPerSecond(redisUrl: string, count: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-core-'));
  writeFileSync(join(dir, 'policy.yaml'), stringify(aPolicyInput(NOOP_PROVIDERS)));
  const loaded = await loadPolicyFile(join(dir, 'policy.yaml'));
  if (!loaded.ok) throw new Error('bench: the policy does not load');
  const db = openDatabase(join(dir, 'sesame.db'));
  const store = new SqliteStore(db, () => loaded.value.sha256);
  const log = pino({ level: 'silent' });
  const scheduler = createBullScheduler({ redisUrl, prefix: 'bench-core', log });
  await scheduler.connected(3_000);
  const access = new AccessService({
    store,
    policy: () => loaded.value,
    providers: createProviders({ env: {}, usergroups: noUsergroups }),
    scheduler,
    notifier: metricsObserver(createMetrics()),
    directory: { usergroupMembers: async () => [], channelName: async () => null, userEmail: async () => null, standing: async () => 'member' },
    clock: { now: () => new Date() },
    log,
    retry: DEFAULT_RETRY,
  });
  try {
    const started = performance.now();
    await inParallel(Array.from({ length: count }), 8, async (_, i) => {
      const out = await access.request({ requester: PEOPLE.lead1, resource: 'sandbox', duration: 3_600_000, reason: `bench core ${i}` });
      if (!out.ok || out.value.kind !== 'granted') throw new Error('bench: a core lifecycle was not granted');
      const ended = await access.revoke(out.value.grant.id, PEOPLE.lead1);
      if (!ended.ok || ended.value.kind !== 'ended') throw new Error('bench: a core lifecycle revoke failed');
    });
    return count / ((performance.now() - started) / 1000);
  } finally {
    await scheduler.close();
    db.$client.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
