// Group commit on SQLite's one connection: the transactions that run while one is open share its BEGIN and COMMIT.
//
// Every COMMIT writes each page the transaction changed to the write-ahead log, two system calls a page, and a
// request, grant and revoke make six; half of what they write is the same few pages (the newest audit entries, the
// grants' index leaves). So the first transaction opens a batch (BEGIN IMMEDIATE), each runs in a savepoint of its
// own (a failure or abort undoes only its own writes), and the batch commits once the event loop has run what was
// ready: the transactions of every request, answer and job handled meanwhile. A transaction's promise still resolves
// only once its writes are committed, so whatever its caller does next (a provider call, a Slack message, a job)
// never rests on a write that could still be lost.
import { setImmediate } from 'node:timers';
import type Database from 'better-sqlite3';
import { WriteLock } from './write-lock.ts';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class GroupCommit {
  private readonly lock = new WriteLock();
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  /** Whether a batch (an open BEGIN IMMEDIATE) holds the connection's writes. */
  private open = false;
  private commitQueued = false;
  /** The transactions done in the open batch, waiting for its commit. */
  private waiting: Waiter[] = [];
  private readonly endListeners = new Set<(committed: boolean) => void>();

  constructor(private readonly client: Database.Database) {
    const prepare = (sql: string) => client.prepare(sql);
    this.control = { begin: prepare('BEGIN IMMEDIATE'), commit: prepare('COMMIT'), rollback: prepare('ROLLBACK'), savepoint: prepare('SAVEPOINT logical'), release: prepare('RELEASE logical'), rollbackTo: prepare('ROLLBACK TO logical') };
  }

  /** True while a batch is open: what a transaction writes is visible on this connection but not yet committed. */
  get batchOpen(): boolean {
    return this.open;
  }

  /** Calls `listener` each time a batch ends: committed, or rolled back as a whole (its transactions then failed). */
  onBatchEnd(listener: (committed: boolean) => void): () => void {
    this.endListeners.add(listener);
    return () => void this.endListeners.delete(listener);
  }

  /**
   * Runs `body` as one transaction in the open batch (opening one if none is), one at a time. Resolves with its
   * result once the batch has committed; rejects with its error once its own writes are undone (`undo` is then called,
   * still holding the connection), or with the commit's error when the batch could not commit.
   */
  async transaction<T>(body: () => T | Promise<T>, undo?: () => void): Promise<T> {
    const wait = this.lock.acquire();
    if (wait !== undefined) await wait;
    let result: T;
    let committed: Promise<void>;
    try {
      this.endIfLost();
      if (!this.open) this.begin();
      // Nested in the batch's BEGIN, never outermost: an outermost savepoint's RELEASE would commit on its own.
      this.control.savepoint.run();
      try {
        result = await body();
        if (!this.client.inTransaction) throw lostBatch();
        this.control.release.run();
      } catch (error) {
        this.undoLast(error, undo);
        throw error;
      }
      // Before the lock is let go, so the commit cannot slip in between and leave this one waiting for the next batch.
      committed = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    } finally {
      this.lock.release();
    }
    await committed;
    return result;
  }

  /** Runs `read` with nothing uncommitted on the connection: for what leaves the process (anchors, the audit stream) and the write probe. */
  settled<T>(read: () => T): Promise<T> {
    return this.lock.run(() => {
      this.commit();
      return read();
    });
  }

  /** Commits the open batch now (at shutdown, before the connection closes). */
  flush(): Promise<void> {
    return this.settled(() => undefined);
  }

  private begin(): void {
    this.control.begin.run();
    this.open = true;
    if (this.commitQueued) return;
    this.commitQueued = true;
    // After the event loop's current turn: the callbacks ready now (requests, answers, jobs) run their transactions first.
    setImmediate(() => {
      this.commitQueued = false;
      void this.lock.run(() => this.commit());
    });
  }

  /** Undoes the last transaction's writes; if SQLite already rolled back the whole batch (a full disk, say), the batch fails. */
  private undoLast(error: unknown, undo: (() => void) | undefined): void {
    if (this.client.open && this.client.inTransaction) {
      try {
        this.control.rollbackTo.run();
        this.control.release.run();
        undo?.();
        return;
      } catch {
        // Left to the whole batch's rollback below.
      }
    }
    this.end(false, error);
  }

  /**
   * SQLite rolls back the open transaction by itself when any statement on the connection fails with a full disk, an I/O
   * error or no memory, even a read outside every transaction: then the batch is over, its transactions did not happen.
   */
  private endIfLost(): void {
    if (this.open && !(this.client.open && this.client.inTransaction)) this.end(false, lostBatch());
  }

  private commit(): void {
    this.endIfLost();
    if (!this.open) return;
    try {
      this.control.commit.run();
    } catch (error) {
      this.end(false, error);
      return;
    }
    this.end(true);
  }

  private end(committed: boolean, error?: unknown): void {
    if (!committed && this.client.open && this.client.inTransaction) {
      try {
        this.control.rollback.run();
      } catch {
        // The connection refuses even a rollback; every waiter is told below either way.
      }
    }
    this.open = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const listener of this.endListeners) listener(committed);
    for (const waiter of waiting) {
      if (committed) waiter.resolve();
      else waiter.reject(error);
    }
  }
}

const lostBatch = () => new Error('SQLite rolled back the open transactions by itself (a statement failed: a full disk, an I/O error or no memory), so they were not recorded; check the disk and retry.');

const groups = new WeakMap<Database.Database, GroupCommit>();

/** The group commit of this connection, shared by every store, log and cursor on it. */
export function groupCommitOf(client: Database.Database): GroupCommit {
  let group = groups.get(client);
  if (group === undefined) {
    group = new GroupCommit(client);
    groups.set(client, group);
  }
  return group;
}
