// A separate Sesame core on a shared database (SQLite file or PostgreSQL URL) that ends one grant at a given instant, as a revoke job or a sweep would.
import { AccessService } from '../../src/core/access-service.ts';
import { createProviders } from '../../src/providers/registry.ts';
import { openDatabase } from '../../src/store/db.ts';
import { closePgDatabase, isPostgresUrl, openPgDatabase } from '../../src/store/pg/db.ts';
import { PgStore } from '../../src/store/pg/store.ts';
import { SqliteStore } from '../../src/store/repositories.ts';
import { FakeScheduler, noUsergroups, RecordingNotifier, silentLogger, StaticDirectory } from './fakes.ts';
import { aLoadedPolicy } from './policy-fixtures.ts';

const [dbPath, grantId, startAt, secretEnv] = process.argv.slice(2);
const policy = aLoadedPolicy();
const where = dbPath as string;
const pgDb = isPostgresUrl(where) ? await openPgDatabase(where, { migrate: false, maxConnections: 2 }) : undefined;
const store = pgDb ? new PgStore(pgDb, () => policy.sha256) : new SqliteStore(openDatabase(where, { migrate: false }), () => policy.sha256);
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
if (pgDb) await closePgDatabase(pgDb);
