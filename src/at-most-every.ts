// Warnings about a condition that repeats on every request (Redis gone, bad signatures) go to the log at most once a period.

/** A gate that opens at most once per `periodMs`: true the first time, then again once the period has passed. */
export function atMostEvery(periodMs: number, now: () => number = Date.now): () => boolean {
  let openedAt = Number.NEGATIVE_INFINITY;
  return () => {
    if (now() - openedAt <= periodMs) return false;
    openedAt = now();
    return true;
  };
}
