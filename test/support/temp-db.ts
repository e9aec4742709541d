// A fresh SQLite file per test, with real migrations, removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Db } from '../../src/store/db.ts';

export interface TempDb {
  db: Db;
  path: string;
  dir: string;
  cleanup(): void;
}

export function tempDb(): TempDb {
  const dir = mkdtempSync(join(tmpdir(), 'sesame-test-'));
  const path = join(dir, 'sesame.db');
  const db = openDatabase(path);
  return {
    db,
    path,
    dir,
    cleanup: () => {
      if (db.$client.open) db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
