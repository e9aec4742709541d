// The bench's multi-replica figures: two `sesame start` processes on one PostgreSQL database and a Redis of their own.
import pg from 'pg';
import type { FakeSlack } from '../test/support/fake-slack.ts';
import { OwnRedis } from '../test/support/own-redis.ts';
import { tempPgDatabase } from '../test/support/pg-temp-db.ts';
import type { SlackSigner } from '../test/support/signed-client.ts';
import { cpuMs } from './process-stats.ts';
import { startSesameProcess, type Child } from './processes.ts';
import { benchUser, inParallel, percentile, progress, sleep, type Row } from './stats.ts';

export interface ReplicaBenchOptions {
  env: Record<string, string>;
  ports: readonly [number, number];
  slack: FakeSlack;
  signer: (url: string) => SlackSigner;
  sizes: { lifecycles: number; burst: number; concurrency: number };
}

/** Lateness (ended_at − expires_at) of the grants whose reason starts with `tag`, once all have ended. */
async function latenessOf(url: string, tag: string, count: number): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const until = Date.now() + 120_000;
    for (;;) {
      const { rows } = await client.query<{ state: string; late: string }>("SELECT state, ended_at - expires_at AS late FROM grants WHERE reason LIKE $1 || '%'", [tag]);
      if (rows.length === count && rows.every((r) => r.state === 'expired')) return rows.map((r) => Number(r.late));
      if (Date.now() > until) throw new Error(`bench: ${tag} grants did not all expire on the replicas (${rows.length} of ${count} made; states ${JSON.stringify(rows.reduce<Record<string, number>>((n, r) => ({ ...n, [r.state]: (n[r.state] ?? 0) + 1 }), {}))})`);
      await sleep(200);
    }
  } finally {
    await client.end();
  }
}

/** Full lifecycles sent round-robin to both replicas, then a burst of expiries both replicas' workers share. */
export async function benchReplicas(options: ReplicaBenchOptions): Promise<Row[]> {
  const { sizes } = options;
  const database = await tempPgDatabase('bench');
  const redis = await new OwnRedis().start();
  const replicas: Child[] = [];
  try {
    const env = { ...options.env, DATABASE_URL: database.url, REDIS_URL: redis.url };
    for (const port of options.ports) replicas.push(await startSesameProcess(env, port));
    const ask = async (text: string, i: number, user: string) => {
      const replica = replicas[i % replicas.length] as Child;
      const sent = await options.signer(replica.url).command(text, { user });
      return String((await options.slack.firstResponse(sent.responseId)).text);
    };

    const cpuBefore = replicas.reduce((sum, r) => sum + cpuMs(r.pid), 0);
    const started = performance.now();
    await inParallel(Array.from({ length: sizes.lifecycles }), sizes.concurrency, async (_, i) => {
      const granted = await ask(`request sandbox 1h bench replica lifecycle ${i}`, i, benchUser('L', i));
      const grant = /`(G\d+)`/.exec(granted)?.[1];
      if (!grant) throw new Error(`bench: a lifecycle request was not granted on replica ${i % replicas.length}: ${granted}`);
      // Revoked through the other replica: the grant is in the shared database, the revoke job in the shared Redis.
      const revoked = await ask(`revoke ${grant}`, i + 1, benchUser('L', i));
      if (!revoked.includes('is revoked')) throw new Error(`bench: a lifecycle revoke failed: ${revoked}`);
    });
    const perSecond = sizes.lifecycles / ((performance.now() - started) / 1000);
    const cpuPerLifecycle = (replicas.reduce((sum, r) => sum + cpuMs(r.pid), 0) - cpuBefore) / sizes.lifecycles;
    progress('replica lifecycles done');

    // All end within one second, far enough out that every request is in first (at about the lifecycle rate).
    const target = Math.ceil((Date.now() + 10_000 + (2_000 * sizes.burst) / perSecond) / 1000) * 1000;
    await inParallel(Array.from({ length: sizes.burst }), sizes.concurrency, async (_, i) => {
      const reply = await ask(`request sandbox ${Math.ceil((target - Date.now()) / 1000)}s bench replica burst ${i}`, i, benchUser('B', i));
      if (!/`G\d+`/.test(reply)) throw new Error(`bench: a burst request was not granted on replica ${i % replicas.length}: ${reply}`);
    });
    const burst = await latenessOf(database.url, 'bench replica burst', sizes.burst);
    progress('replica burst expiries done');
    return [
      { figure: 'two replicas on PostgreSQL: full lifecycles/s over HTTP', value: perSecond, unit: '/s', budget: { info: true } },
      { figure: 'two replicas on PostgreSQL: CPU per full lifecycle (both)', value: cpuPerLifecycle, unit: 'ms', budget: { info: true } },
      { figure: `two replicas on PostgreSQL: revocation lateness p99, ${sizes.burst.toLocaleString('en-US')} within one second`, value: percentile(burst, 99), unit: 'ms', budget: { info: true } },
    ];
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await redis.stop();
    await database.drop();
  }
}
