// SQLite copies its write-ahead log back into the database file ("checkpoint", with fsyncs) inside whichever commit
// crosses the threshold. On a busy disk that stalled the event loop for tens, once hundreds, of milliseconds in the
// middle of a burst of revocations. The server checkpoints from a worker thread instead, on its own connection.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** Commits checkpoint by themselves only if the log grows this large (pages, about 40 MB): the worker's fallback. */
const FALLBACK_AUTOCHECKPOINT_PAGES = 10_000;

// Plain JavaScript, so it runs the same from the TypeScript checkout and from a compiled build.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage(String(error && error.message || error));
  }
}, workerData.everyMs);
`;

export interface Checkpointer {
  stop(): Promise<void>;
}

export interface CheckpointerOptions {
  /** @defaultValue 1 s */
  everyMs?: number;
  onProblem?: (problem: string) => void;
}

/** Moves checkpoints of the database `client` has open (a file in WAL mode) to a background thread until `stop()`. */
export function checkpointInBackground(client: Database.Database, options: CheckpointerOptions = {}): Checkpointer {
  // An in-memory database (tests) has no log to copy and cannot be opened a second time.
  if (client.memory || client.readonly) return { stop: async () => undefined };
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, path: client.name, everyMs: options.everyMs ?? 1_000 } });
  worker.unref();
  worker.on('message', (problem: string) => options.onProblem?.(problem));
  // If the thread is gone, commits checkpoint again at SQLite's usual threshold.
  const fallBack = () => {
    if (client.open) client.pragma('wal_autocheckpoint = 1000');
  };
  worker.on('error', (error) => {
    options.onProblem?.(error.message);
    fallBack();
  });
  client.pragma(`wal_autocheckpoint = ${FALLBACK_AUTOCHECKPOINT_PAGES}`);
  return {
    async stop() {
      worker.removeAllListeners('error');
      await worker.terminate();
      fallBack();
    },
  };
}
