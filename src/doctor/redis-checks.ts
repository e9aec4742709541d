// Redis as BullMQ needs it: reachable, `noeviction` (no dropped revocations), persistent (a restart keeps them).
import { Redis } from 'ioredis';
import { redactUrl } from '../core/redact.ts';
import { redisOptions } from '../scheduler/redis-options.ts';
import { cannotTell, errorText, failed, passed, type Finding } from './finding.ts';

const CONNECT_TIMEOUT_MS = 3_000;

export async function redisFindings(url: string): Promise<Finding[]> {
  const shown = redactUrl(url);
  const redis = new Redis({ ...redisOptions(url), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: CONNECT_TIMEOUT_MS, enableOfflineQueue: false });
  redis.on('error', () => undefined);
  try {
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      return [failed(`Redis at ${shown} does not answer (${errorText(error)})`, 'start Redis, or point REDIS_URL at it')];
    }
    const findings = [passed(`Redis at ${shown} answers`)];
    let config: Record<string, string>;
    try {
      config = { ...(await configOf(redis, 'maxmemory-policy')), ...(await configOf(redis, 'appendonly')), ...(await configOf(redis, 'save')) };
    } catch (error) {
      const why = `cannot tell Redis's maxmemory-policy and persistence: it refused CONFIG GET (${errorText(error)})`;
      return [...findings, cannotTell(why, 'make sure maxmemory-policy is noeviction and appendonly yes (or a save schedule) is set')];
    }
    const policy = config['maxmemory-policy'];
    findings.push(
      policy === 'noeviction'
        ? passed('Redis maxmemory-policy is noeviction')
        : failed(`Redis maxmemory-policy is "${policy}", so under memory pressure it may drop revocation jobs`, 'set maxmemory-policy noeviction (redis.conf, or CONFIG SET)'),
    );
    const aof = config.appendonly === 'yes';
    const snapshots = (config.save ?? '').trim() !== '';
    findings.push(
      aof || snapshots
        ? passed(`Redis persists its data (${[aof ? 'appendonly' : '', snapshots ? `save "${config.save}"` : ''].filter(Boolean).join(', ')})`)
        : failed('Redis keeps its data only in memory, so a restart loses every scheduled revocation until the reconciler runs', 'set appendonly yes (or a save schedule)'),
    );
    return findings;
  } finally {
    redis.disconnect();
  }
}

async function configOf(redis: Redis, key: string): Promise<Record<string, string>> {
  const pairs = (await redis.config('GET', key)) as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) out[pairs[i] as string] = pairs[i + 1] as string;
  return out;
}
