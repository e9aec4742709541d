// A separate Sesame core on a shared SQLite file that ends one grant at a given instant, as a revoke job or a sweep would.
import { AccessService } from '../../src/core/access-service.ts';
import { createProviders } from '../../src/providers/registry.ts';
import { openDatabase } from '../../src/store/db.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { FakeScheduler, noUsergroups, RecordingNotifier, silentLogger, StaticDirectory } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';

const [dbPath, grantId, startAt, secretEnv] = process.argv.slice(2);
const policy = aLoadedPolicy();
const store = new SqliteStore(openDatabase(dbPath as string, { migrate: false }), () => policy.sha256);
const notifier = new RecordingNotifier();
const access = new AccessService({
  store,
  policy: () => policy,
  providers: createProviders({ env: { [secretEnv as string]: 'race-secret' }, usergroups: noUsergroups }),
  scheduler: new FakeScheduler(),
  notifier,
  directory: new StaticDirectory({}, {}),
  clock: { now: () => new Date() },
  log: silentLogger,
  retry: { attempts: 2, baseDelayMs: 5 },
});

// Start together, so both revokes are really in flight at once.
while (Date.now() < Number(startAt)) {
  /* spin */
}
const outcome = await access.expire(Number(grantId));
process.stdout.write(JSON.stringify({ kind: outcome.kind, events: notifier.types() }));
