// The `postgres` provider: an ephemeral LOGIN role per grant that the database itself expires, dropped at revoke.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { GrantSubject, Provider } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorMessage } from '../core/retry.ts';
import { envVarSchema, name } from '../policy/fields.ts';
import { postgresFindings } from './postgres-doctor.ts';
import { defineProvider, requireEnv } from './provider-module.ts';

const schema = z
  .object({
    type: z.literal('postgres'),
    connection_env: envVarSchema,
    /** Sesame role → database role granted to the ephemeral login. */
    roles: z.record(name('role'), z.string().min(1)),
  })
  .strict();

/** `sesame_g17`: lower case, so it needs no quoting in psql. */
export const loginRoleOf = (subject: Pick<GrantSubject, 'grantId'>): string => `sesame_${subject.grantId.toLowerCase()}`;

/** SQLSTATEs that no retry fixes: a missing role or database, refused credentials, too few privileges. */
const PERMANENT_CODES = new Set(['42704', '3D000', '28P01', '28000', '42501']);

function createPostgresProvider(config: z.output<typeof schema>, env: Readonly<Record<string, string | undefined>>): Provider {
  let pool: pg.Pool | undefined;
  const connection = () => requireEnv(env, config.connection_env, 'the postgres provider');
  const poolOf = async (): Promise<pg.Pool> => {
    const driver = await loadPg();
    if (!pool) {
      pool = new driver.Pool({ connectionString: connection(), max: 4, connectionTimeoutMillis: 5_000, idleTimeoutMillis: 10_000, statement_timeout: 10_000 });
      // An idle client's error (the server restarted) must not crash Sesame; the next query reconnects.
      pool.on('error', () => undefined);
    }
    return pool;
  };

  /** Runs `work` in one transaction, turning driver errors into sentences (never including SQL, which may hold a password). */
  const inTransaction = async <T>(what: string, work: (client: pg.PoolClient, driver: typeof pg) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await (await poolOf()).connect();
    } catch (cause) {
      if (cause instanceof ProviderError) throw cause;
      throw new ProviderError(`could not connect to PostgreSQL (${config.connection_env}) to ${what}: ${messageOf(cause)}`, !PERMANENT_CODES.has(codeOf(cause)), { cause });
    }
    try {
      await client.query('BEGIN');
      const result = await work(client, await loadPg());
      await client.query('COMMIT');
      return result;
    } catch (cause) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (cause instanceof ProviderError) throw cause;
      throw new ProviderError(`PostgreSQL refused to ${what}: ${messageOf(cause)}`, !PERMANENT_CODES.has(codeOf(cause)), { cause });
    } finally {
      client.release();
    }
  };

  const exists = async (client: pg.PoolClient, role: string): Promise<boolean> =>
    ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;

  return {
    async grant(subject) {
      const dbRole = config.roles[subject.role];
      if (dbRole === undefined) throw new ProviderError(`role "${subject.role}" has no database role in provider.roles`, false);
      const login = loginRoleOf(subject);
      const password = randomBytes(24).toString('base64url');
      await inTransaction(`create ${login}`, async (client, pg) => {
        if (await exists(client, login)) {
          throw new ProviderError(`a database role ${login} already exists (left by an earlier Sesame database?); drop it and request again`, false);
        }
        if (!(await exists(client, dbRole))) throw new ProviderError(`the database role ${dbRole} (mapped from "${subject.role}") does not exist; create it or fix provider.roles`, false);
        const id = pg.escapeIdentifier;
        await client.query(`CREATE ROLE ${id(login)} LOGIN PASSWORD ${pg.escapeLiteral(password)} VALID UNTIL ${pg.escapeLiteral(subject.expiresAt.toISOString())}`);
        await client.query(`GRANT ${id(dbRole)} TO ${id(login)}`);
      });
      return { message: connectionMessage(connection(), login, password, subject.expiresAt) };
    },

    async revoke(subject) {
      const login = loginRoleOf(subject);
      await inTransaction(`drop ${login}`, async (client, pg) => {
        if (!(await exists(client, login))) return; // already gone (dropped by hand): nothing to undo
        const id = pg.escapeIdentifier(login);
        // NOLOGIN first, so no new session can start between cutting the old ones and dropping the role.
        await client.query(`ALTER ROLE ${id} NOLOGIN`);
        await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()', [login]);
        // Objects the role created move to Sesame's own role instead of blocking the drop or vanishing.
        await client.query(`REASSIGN OWNED BY ${id} TO CURRENT_USER`);
        await client.query(`DROP OWNED BY ${id}`);
        await client.query(`DROP ROLE ${id}`);
      });
    },

    async check(subject) {
      const login = loginRoleOf(subject);
      return (await inTransaction(`look up ${login}`, (client) => exists(client, login))) ? 'present' : 'absent';
    },

    async extend(subject) {
      const login = loginRoleOf(subject);
      await inTransaction(`extend ${login}`, async (client, pg) => {
        await client.query(`ALTER ROLE ${pg.escapeIdentifier(login)} VALID UNTIL ${pg.escapeLiteral(subject.expiresAt.toISOString())}`);
      });
    },

    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}

/** The DM that tells the requester how to connect; it carries the password, so it goes to them alone. */
function connectionMessage(connectionString: string, login: string, password: string, expiresAt: Date): string {
  const target = new URL(connectionString);
  target.username = login;
  target.password = password;
  target.search = '';
  return [
    `Your PostgreSQL login \`${login}\` works until ${expiresAt.toISOString()} (the database refuses it after that):`,
    '```',
    `psql "${target.toString()}"`,
    '```',
  ].join('\n');
}

/** The driver is loaded on first use, so reading a policy (which validates this block) does not load it. */
const loadPg = async (): Promise<typeof pg> => (await import('pg')).default;

const codeOf = (error: unknown): string => String((error as { code?: unknown } | null)?.code ?? '');
const messageOf = (error: unknown): string => errorMessage(error) || codeOf(error) || 'unknown error';

export const postgresProvider = defineProvider({
  schema,
  secretEnv: (config) => [{ key: 'connection_env', variable: config.connection_env }],
  create: (config, { env }) => createPostgresProvider(config, env),
  doctor: (config, { env }) => postgresFindings(config, env),
});
