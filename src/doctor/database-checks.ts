// The SQLite database: writable where it lives, and carrying every migration this version of Sesame ships.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { appliedMigrationCount, MIGRATIONS_FOLDER, openDatabase } from '../store/db.ts';
import { errorText, failed, passed, type Finding } from './finding.ts';

export function databaseFindings(path: string): Finding[] {
  if (path === ':memory:') return [passed('the database is in memory (DATABASE_PATH=:memory:); nothing is kept across restarts')];
  if (!existsSync(path)) {
    const dir = nearestExisting(dirname(path));
    return writable(dir)
      ? [passed(`${path} does not exist yet; \`sesame start\` (or \`sesame migrate\`) creates it`)]
      : [failed(`${path} cannot be created: ${dir} is not writable by this user`, 'make that folder writable, or set DATABASE_PATH to a writable place')];
  }
  // SQLite writes its -wal and -shm files beside the database, so the folder must be writable too.
  if (!writable(path) || !writable(dirname(path))) {
    return [failed(`${path} (or its folder) is not writable by this user`, 'fix the permissions, or set DATABASE_PATH to a writable place')];
  }
  let db;
  try {
    db = openDatabase(path, { migrate: false });
  } catch (error) {
    return [failed(`${path} cannot be opened as a SQLite database (${errorText(error)})`, 'restore it from a backup, or point DATABASE_PATH at the right file')];
  }
  try {
    db.$client.exec('BEGIN IMMEDIATE; ROLLBACK');
    const shipped = journalLength();
    const applied = appliedOrNone(db);
    if (applied < shipped) {
      return [failed(`${path} lacks ${shipped - applied} of ${shipped} migrations`, 'run `sesame migrate` (`sesame start` applies them too)')];
    }
    return [passed(`${path} is writable and migrated (${applied} migrations)`)];
  } catch (error) {
    return [failed(`${path} cannot be written (${errorText(error)})`, 'check the disk and the file, then try again')];
  } finally {
    db.$client.close();
  }
}

function appliedOrNone(db: ReturnType<typeof openDatabase>): number {
  try {
    return appliedMigrationCount(db);
  } catch {
    return 0; // a SQLite file Sesame never migrated has no migration table
  }
}

const journalLength = (): number => (JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function nearestExisting(dir: string): string {
  let current = dir;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}
