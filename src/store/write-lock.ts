// An in-process lock for SQLite's one connection (the group commit's): a transaction awaits its body, so no other write may slip into it.
export class WriteLock {
  private held = false;
  private readonly waiting: (() => void)[] = [];

  /** Undefined when the lock was free and is now held (no await, no extra tick); else a promise resolved once it is held. */
  acquire(): Promise<void> | undefined {
    if (!this.held) {
      this.held = true;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Hands the lock to the next waiter in order, or frees it. */
  release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.held = false;
    else next();
  }

  /** Runs `body` holding the lock. */
  async run<T>(body: () => T | Promise<T>): Promise<T> {
    const wait = this.acquire();
    if (wait !== undefined) await wait;
    try {
      return await body();
    } finally {
      this.release();
    }
  }
}
