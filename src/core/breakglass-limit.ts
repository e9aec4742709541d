// The break-glass hourly limit, checked again in the transaction that stores a request so that replicas agree.
import type { Policy } from '../policy/schema.ts';
import type { RecordReads } from './store-port.ts';

const HOUR_MS = 3_600_000;

/**
 * The limit when this break-glass request would exceed it, else null. The decision counted uses before the request
 * was stored; two requests decided at once (on two replicas, or two clicks) both saw room, and only here, where the
 * stores take requests one at a time, does the second see the first.
 */
export async function breakglassLimitReached(tx: RecordReads, policy: Policy, input: { requester: string; breakglass?: boolean | undefined; extending?: unknown }, now: Date): Promise<number | null> {
  const max = policy.breakglass?.max_per_hour;
  if (!input.breakglass || (input.extending ?? null) !== null || max === undefined) return null;
  return (await tx.breakglassRequestsSince(input.requester, now.getTime() - HOUR_MS)) >= max ? max : null;
}
