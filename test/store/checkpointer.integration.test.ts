// The server's checkpoints happen on a worker thread: the database file fills from the log without any commit doing it.
import { statSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkpointInBackground } from '../../src/store/checkpointer.ts';
import { tempDb, type TempDb } from '../support/temp-db.ts';
import { onPostgres } from '../support/store-factories.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// SQLite only: SQLite's WAL checkpointer thread; PostgreSQL has none.
describe.skipIf(onPostgres)('background checkpoints', () => {
  let temp: TempDb;
  beforeEach(() => {
    temp = tempDb();
  });
  afterEach(() => temp.cleanup());

  it('copies committed pages into the database file from another thread, and hands checkpoints back on stop', async () => {
    const client = temp.db.$client;
    const problems: string[] = [];
    const checkpointer = checkpointInBackground(client, { everyMs: 50, onProblem: (p) => problems.push(p) });
    expect(client.pragma('wal_autocheckpoint', { simple: true })).toBe(10_000);
    client.exec('CREATE TABLE filler (blob TEXT)');
    const before = statSync(temp.path).size;
    const insert = client.prepare('INSERT INTO filler (blob) VALUES (?)');
    // About 500 pages: far below the commits' own threshold, so only the worker can move them into the file.
    for (let i = 0; i < 500; i++) client.transaction(() => insert.run('x'.repeat(4_000)))();
    const until = Date.now() + 20_000;
    while (statSync(temp.path).size < before + 1_500_000 && Date.now() < until) await sleep(50);
    expect(statSync(temp.path).size).toBeGreaterThanOrEqual(before + 1_500_000);
    await checkpointer.stop();
    expect(client.pragma('wal_autocheckpoint', { simple: true })).toBe(1_000);
    expect(problems).toEqual([]);
  });
});
