// Another program holding a SQLite file's write lock, in a process of its own. Taking the lock from the test's own
// thread would wait synchronously (busy_timeout) while an in-process Sesame's batch, whose commit is due on that same
// thread's next turn, holds the write lock: the two would wait on each other until "database is locked".
import { spawn } from 'node:child_process';
import { once } from 'node:events';

const LOCKER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1], { timeout: 10000 });
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.on('end', () => { db.exec('ROLLBACK'); db.close(); });
process.stdin.resume();
`;

export interface SqliteLock {
  /** Rolls the lock's transaction back and waits for the process to end. */
  release(): Promise<void>;
}

/** Resolves once a separate process holds `path` under BEGIN EXCLUSIVE; it keeps it until `release()`. */
export async function lockInAnotherProcess(path: string): Promise<SqliteLock> {
  const child = spawn(process.execPath, ['-e', LOCKER, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const locked = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('locked') && resolve());
    void exited.then(([code]) => reject(new Error(`the locking process ended (code ${String(code)}) before it held ${path}: ${stderr}`)));
  });
  await locked;
  return {
    async release() {
      child.stdin.end();
      const [code] = (await exited) as [number | null];
      if (code !== 0) throw new Error(`the locking process ended with code ${String(code)}: ${stderr}`);
    },
  };
}
