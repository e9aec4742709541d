// Setup file for every test file: drops the PostgreSQL databases the file's store tests made and kept for reuse.
import { afterAll } from 'vitest';
import { dropPgDatabases } from './pg-reused-db.ts';

afterAll(dropPgDatabases);
