// Group commit on SQLite's one connection: the transactions that run while one is open share its BEGIN and COMMIT.
//
// Every COMMIT writes each page the transaction changed to the write-ahead log, two system calls a page, and a
// request, grant and revoke make six; half of what they write is the same few pages (the newest audit entries, the
// grants' index leaves). So the first transaction opens a batch (BEGIN IMMEDIATE), each runs in a savepoint of its
// own (a failure or abort undoes only its own writes), and the batch commits once the event loop has run what was
// ready: the transactions of every request, answer and job handled meanwhile. A transaction's promise still resolves
// only once its writes are committed, so whatever its caller does next (a provider call, a Slack message, a job)
// never rests on a write that is still uncommitted. (Committed is what `synchronous = NORMAL` gives: it survives the
// process crashing, not the machine losing power; see db.ts.)
import { setImmediate } from 'node:timers';
import type Database from 'better-sqlite3';
import { oncePer } from './once-per.ts';
import { WriteLock } from './write-lock.ts';

/** How a batch ended, for the transactions waiting on it. */
type BatchEnd = { committed: true } | { committed: false; error: unknown };

export class GroupCommit {
  private readonly lock = new WriteLock();
  private readonly control: Record<'begin' | 'commit' | 'rollback' | 'savepoint' | 'release' | 'rollbackTo', Database.Statement>;
  /** Whether a batch (an open BEGIN IMMEDIATE) holds the connection's writes. */
  private open = false;
  private commitQueued = false;
  /** Whether a transaction's body is running now (it holds the lock). */
  private inBody = false;
  /** The transactions of the open batch, waiting for it to end. */
  private waiting: ((end: BatchEnd) => void)[] = [];
  private readonly endListeners = new Set<(committed: boolean) => void>();

  constructor(private readonly client: Database.Database) {
    const prepare = (sql: string) => client.prepare(sql);
    this.control = { begin: prepare('BEGIN IMMEDIATE'), commit: prepare('COMMIT'), rollback: prepare('ROLLBACK'), savepoint: prepare('SAVEPOINT logical'), release: prepare('RELEASE logical'), rollbackTo: prepare('ROLLBACK TO logical') };
  }

  /** True while a batch is open: what a transaction writes is visible on this connection but not yet committed. */
  get batchOpen(): boolean {
    return this.open;
  }

  /** True while a transaction's body runs: the only time a write may join the batch. */
  get inTransactionBody(): boolean {
    return this.inBody;
  }

  /** Calls `listener` each time a batch ends: committed, or rolled back as a whole (its transactions then failed). */
  onBatchEnd(listener: (committed: boolean) => void): () => void {
    this.endListeners.add(listener);
    return () => void this.endListeners.delete(listener);
  }

  /**
   * Runs `body` as one transaction in the open batch (opening one if none is), one at a time, and settles once the
   * batch has ended: with its result when the batch committed; with its own error when it threw (its writes undone
   * at once, `undo` then called while it still holds the connection) and the rest of its batch committed; with the
   * batch's error whenever the batch was rolled back, since a decision the body made (a lost race, say) may rest
   * on writes of the batch that are now gone. Never call it, or `settled`, from inside a body: the body holds the
   * connection they wait for.
   */
  async transaction<T>(body: () => T | Promise<T>, undo?: () => void): Promise<T> {
    const wait = this.lock.acquire();
    if (wait !== undefined) await wait;
    let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
    let ended: Promise<BatchEnd> | undefined;
    try {
      this.endIfLost();
      if (!this.open) this.begin();
      // Nested in the batch's BEGIN, never outermost: an outermost savepoint's RELEASE would commit on its own.
      this.control.savepoint.run();
      try {
        this.inBody = true;
        const value = await body();
        if (!this.client.inTransaction) throw lostBatch();
        this.control.release.run();
        outcome = { ok: true, value };
      } catch (error) {
        outcome = { ok: false, error };
        this.undoLast(error, undo);
      } finally {
        this.inBody = false;
      }
      // Before the lock is let go, so the commit cannot slip in between and leave this one waiting for the next batch.
      if (this.open) ended = new Promise<BatchEnd>((resolve) => this.waiting.push(resolve));
    } finally {
      this.lock.release();
    }
    const end = (await ended) ?? { committed: false, error: outcome.ok ? lostBatch() : outcome.error };
    if (!end.committed) throw end.error;
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
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

  /**
   * Ends the open batch unrecorded, telling each of its transactions so: at shutdown, when a body that never finished
   * holds the connection and the batch cannot commit. Its writes go, as closing the connection would take them anyway.
   */
  abandon(): void {
    if (this.open) this.end(false, stoppedBeforeCommit());
  }

  private begin(): void {
    this.control.begin.run();
    this.open = true;
    if (this.commitQueued) return;
    this.commitQueued = true;
    // After the event loop's current turn: the callbacks ready now (requests, answers, jobs) run their transactions
    // first. Node's own setImmediate, not the global a test's fake clock may replace: a commit must never wait for one.
    setImmediate(() => {
      this.commitQueued = false;
      this.lock.run(() => this.commit()).catch(() => undefined); // commit() tells every waiter what happened
    });
  }

  /** Undoes the last transaction's writes; if that fails, or SQLite already rolled back the whole batch, the batch fails. */
  private undoLast(error: unknown, undo: (() => void) | undefined): void {
    if (this.client.open && this.client.inTransaction) {
      try {
        this.control.rollbackTo.run();
        this.control.release.run();
        undo?.();
        return;
      } catch (undoError) {
        this.end(false, new Error(`SQLite could not undo one transaction of the batch (${String(undoError)}), so none of the batch was recorded; retry.`, { cause: error }));
        return;
      }
    }
    this.endIfLost();
  }

  /**
   * SQLite rolls back the open transaction by itself when any statement on the connection fails with a full disk, an I/O
   * error or no memory, even a read outside every transaction: then the batch is over, its transactions did not happen.
   */
  private endIfLost(): void {
    if (!this.open) return;
    if (!this.client.open) this.end(false, stoppedBeforeCommit());
    else if (!this.client.inTransaction) this.end(false, lostBatch());
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
    const end: BatchEnd = committed ? { committed } : { committed, error };
    for (const settle of waiting) settle(end);
    for (const listener of this.endListeners) {
      try {
        listener(committed);
      } catch {
        // A listener (the audit stream's wake-up) that throws must not keep the next listener from hearing of it.
      }
    }
  }
}

const stoppedBeforeCommit = () => new Error('Sesame stopped while a transaction was still running, so the open transactions were not recorded; make the request again once Sesame is back.');
const lostBatch = () => new Error('SQLite rolled back the open transactions by itself (a statement failed: a full disk, an I/O error or no memory), so they were not recorded; check the disk and retry.');

/** The group commit of this connection, shared by every store, log and cursor on it. */
export const groupCommitOf = oncePer((client: Database.Database) => new GroupCommit(client));
