// Runs work one at a time per key within this process, in arrival order; different keys run side by side.
import type { KeyedSerializer } from './ports.ts';

/** Work in one process is never taken away from it, so its signal is never aborted. */
const NEVER_ABORTED = new AbortController().signal;

export class KeyedQueue implements KeyedSerializer {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` after everything queued before it under `key`; a null key is not queued. */
  run<T>(key: string | null, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (key === null) return work(NEVER_ABORTED);
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(() => work(NEVER_ABORTED), () => work(NEVER_ABORTED));
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => this.tails.get(key) === settled && this.tails.delete(key));
    return next;
  }
}
