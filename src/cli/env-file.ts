// Reads ./.env into the environment before any command runs, as .env.example promises; variables already set win.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Loads `dir/.env` when there is one; returns a sentence when it cannot be read, null otherwise. */
export function loadDotEnv(dir: string): string | null {
  const file = join(dir, '.env');
  if (!existsSync(file)) return null;
  // process.loadEnvFile arrived in Node 20.12; on an older 20 the file would be silently ignored, which misleads.
  if (typeof process.loadEnvFile !== 'function') {
    return `${file} was not read: Node ${process.version} cannot load .env files; use Node 20.12 or later, or export its variables yourself.`;
  }
  try {
    process.loadEnvFile(file);
  } catch (error) {
    return `${file} could not be read (${error instanceof Error ? error.message : String(error)}); fix or remove it.`;
  }
  return null;
}
