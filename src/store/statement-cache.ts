// drizzle asks better-sqlite3 to prepare every query it runs, so SQLite compiled the same few statements again on
// every request and revoke (a tenth of Sesame's CPU per lifecycle). This keeps compiled statements by their SQL text.
import type Database from 'better-sqlite3';

/** Distinct SQL texts kept; queries with a list of values (`IN (?, ?)`) vary with its length, so the cache is bounded. */
const MAX_STATEMENTS = 500;

/** Makes `client.prepare` return a compiled statement for SQL it has seen before; call once, right after opening. */
export function cacheStatements(client: Database.Database): void {
  const prepare = client.prepare.bind(client);
  const cache = new Map<string, Database.Statement>();
  client.prepare = ((source: string) => {
    const cached = cache.get(source);
    // A statement still being iterated cannot run again until it finishes; that caller gets one of its own.
    if (cached !== undefined && !cached.busy) {
      // Callers switch modes (drizzle reads rows as arrays); each caller must start from the default.
      if (cached.reader) cached.pluck(false).expand(false).raw(false);
      return cached;
    }
    const statement = prepare(source);
    if (cached === undefined) {
      if (cache.size >= MAX_STATEMENTS) cache.delete(cache.keys().next().value as string);
      cache.set(source, statement);
    }
    return statement;
  }) as Database.Database['prepare'];
}
