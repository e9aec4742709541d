// The PostgreSQL database of DATABASE_URL: reachable, carrying every migration this version ships, taking a write.
import { redactUrl } from '../core/redact.ts';
import { appliedPgMigrationCount, closePgDatabase, openPgDatabase, PgDatabaseError, type PgDb } from '../store/pg/db.ts';
import { pgWriteProblem, shippedPgMigrationCount } from '../store/pg/health.ts';
import { errorText, failed, passed, type Finding } from './finding.ts';

/** How long the doctor waits for a connection: it reports what it finds now rather than waiting out a dead host. */
const CONNECT_TIMEOUT_MS = 5_000;

export async function pgDatabaseFindings(url: string): Promise<Finding[]> {
  const where = `PostgreSQL at ${redactUrl(url)}`;
  let db: PgDb;
  try {
    db = await openPgDatabase(url, { migrate: false, maxConnections: 1, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  } catch (error) {
    // PgDatabaseError's sentence says what was wrong and what to check, without the password.
    if (error instanceof PgDatabaseError) return [failed(error.message.replace(/\.$/, ''))];
    return [failed(`${where} cannot be used (${errorText(error)})`, "check DATABASE_URL and the server's log")];
  }
  try {
    const shipped = shippedPgMigrationCount();
    const applied = await appliedPgMigrationCount(db);
    if (applied < shipped) return [failed(`${where} lacks ${shipped - applied} of ${shipped} migrations`, 'run `sesame migrate` with the URL of the role that owns the tables (`sesame start` applies them too when it runs as that role)')];
    const problem = await pgWriteProblem(db);
    if (problem !== null) {
      return [failed(`${where} does not take writes (${problem})`, 'point DATABASE_URL at the primary (not a read-only standby), with a user that may write, and check the server\'s free disk space')];
    }
    return [passed(`${where} answers, takes writes and is migrated (${applied} migrations)`)];
  } catch (error) {
    return [failed(`${where} could not be checked (${errorText(error)})`, "check the server's log, then try again")];
  } finally {
    await closePgDatabase(db).catch(() => undefined);
  }
}
