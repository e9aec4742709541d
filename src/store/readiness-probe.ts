// Readiness probes of a store: a write probe run at most once a second, and a deadline on the database's answer.

/** How often the readiness write probe may really run (a commit), however often /readyz is asked: it is unauthenticated. */
const PROBE_EVERY_MS = 1_000;
/** How long the readiness check waits for the database before it counts as not answering. */
export const READINESS_TIMEOUT_MS = 2_000;

/** Runs `probe` at most once per PROBE_EVERY_MS; between runs, the last answer. */
export function throttled(probe: () => Promise<string | null>): () => Promise<string | null> {
  let last = { at: 0, problem: null as string | null };
  return async () => {
    if (Date.now() - last.at >= PROBE_EVERY_MS) last = { at: Date.now(), problem: await probe() };
    return last.problem;
  };
}

/** The promise's value, or undefined when it takes longer than `ms` (or fails). */
export async function withinMs<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
