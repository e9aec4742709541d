// `sesame doctor` for a postgres block: Sesame connects, may create roles (CREATEROLE), and every mapped role exists.
// The driver is imported on use, as in postgres.ts, so policy-only commands do not load it.
import { errorText, failed, passed, type Finding } from '../doctor/finding.ts';
import { unsafeReassignTarget } from './postgres-roles.ts';

export interface PostgresBlock {
  connection_env: string;
  roles: Record<string, string>;
  reassign_owned_to?: string | undefined;
}

export async function postgresFindings(config: PostgresBlock, env: Readonly<Record<string, string | undefined>>): Promise<Finding[]> {
  const url = env[config.connection_env];
  if (!url) return [failed(`${config.connection_env} is not set, so Sesame cannot reach this database`, `set ${config.connection_env} to a postgres:// connection string`)];
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, statement_timeout: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    return [failed(`cannot connect to PostgreSQL with ${config.connection_env} (${errorText(error) || String((error as { code?: unknown }).code)})`, `check the connection string in ${config.connection_env} and that the server lets Sesame in`)];
  }
  try {
    const me = (await client.query<{ name: string; creates: boolean }>('SELECT rolname AS name, rolcreaterole OR rolsuper AS creates FROM pg_roles WHERE rolname = current_user')).rows[0];
    const findings: Finding[] = [];
    const name = me?.name ?? 'current_user';
    findings.push(
      me?.creates
        ? passed(`connects to PostgreSQL as ${name}, which has CREATEROLE`)
        : failed(`connects to PostgreSQL as ${name}, which lacks CREATEROLE, so no grant can create its login`, `as a superuser: ALTER ROLE ${pg.escapeIdentifier(name)} CREATEROLE`),
    );
    const wanted = [...new Set(Object.values(config.roles))];
    const existing = new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [wanted])).rows.map((r) => r.rolname));
    for (const [role, dbRole] of Object.entries(config.roles)) {
      findings.push(
        existing.has(dbRole)
          ? passed(`database role ${dbRole} (for "${role}") exists`)
          : failed(`database role ${dbRole} (for "${role}") does not exist, so every grant of "${role}" fails`, `create it (CREATE ROLE ${pg.escapeIdentifier(dbRole)} NOLOGIN, with its privileges) or fix provider.roles`),
      );
    }
    if (config.reassign_owned_to !== undefined) {
      // The same refusal as at grant time: objects handed to a powerful role would be a way up for the grantee.
      const unsafe = await unsafeReassignTarget(client, config.reassign_owned_to);
      findings.push(
        unsafe === null
          ? passed(`reassign_owned_to ${config.reassign_owned_to} holds no superuser, CREATEROLE or BYPASSRLS power`)
          : failed(`reassign_owned_to ${config.reassign_owned_to} cannot be used: ${unsafe}`, 'name a role with no special attributes that owns nothing sensitive, or remove reassign_owned_to so objects are dropped'),
      );
    }
    return findings;
  } catch (error) {
    return [failed(`PostgreSQL refused to list roles (${errorText(error)})`, `check that the user in ${config.connection_env} may read pg_roles`)];
  } finally {
    await client.end().catch(() => undefined);
  }
}
