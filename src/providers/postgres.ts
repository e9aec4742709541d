// The `postgres` provider: an ephemeral LOGIN role per grant that the database itself expires, cut off and dropped at revoke.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import type { GrantSubject, Provider, RevokeResult } from '../core/ports.ts';
import { ProviderError } from '../core/provider-error.ts';
import { errorMessage } from '../core/retry.ts';
import { envVarSchema, name } from '../policy/fields.ts';
import { unsafeReassignTarget, type Queryable } from './postgres-roles.ts';
import { scramSha256Verifier } from './postgres-scram.ts';
import { postgresFindings } from './postgres-doctor.ts';
import { connectionMessage } from './postgres-message.ts';
import { defineProvider, requireEnv } from './provider-module.ts';

const schema = z
  .object({
    type: z.literal('postgres'),
    connection_env: envVarSchema,
    /** Sesame role → database role granted to the ephemeral login. */
    roles: z.record(name('role'), z.string().min(1)),
    /** Keeps what a grantee created under this role at revoke instead of dropping it; never a powerful role. */
    reassign_owned_to: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((block, ctx) => {
    const target = block.reassign_owned_to;
    if (target !== undefined && Object.values(block.roles).includes(target)) {
      ctx.addIssue({
        code: 'custom',
        path: ['reassign_owned_to'],
        message: `${target} is also a role this block grants, so a grantee's SECURITY DEFINER functions would keep running with its access after the revoke; name a NOLOGIN role that holds nothing`,
      });
    }
  });

type PostgresConfig = z.output<typeof schema>;

/** `sesame_g17`: lower case, so it needs no quoting in psql. */
export const loginRoleOf = (subject: Pick<GrantSubject, 'grantId'>): string => `sesame_${subject.grantId.toLowerCase()}`;

/**
 * Deadlines for every round trip, so a database that hangs (or a lock that is never released) fails the call
 * instead of holding a grant or a revoke forever: the server cancels a statement, the client gives up on a reply.
 */
const PG_TIMEOUTS = { connectMs: 5_000, statementMs: 10_000, queryMs: 15_000 } as const;

/** How long revoke waits for terminated sessions to go before calling the access still present. */
const SESSION_EXIT_WAIT_MS = 5_000;

/** SQLSTATEs that no retry fixes: a missing role or database, refused credentials, too few privileges. */
const PERMANENT_CODES = new Set(['42704', '3D000', '28P01', '28000', '42501']);

// The driver loads on first use, so `policy check` (which reads this module's schema) never pays for it.
let driver: typeof pg | undefined;
const loadPg = async (): Promise<typeof pg> => (driver ??= (await import('pg')).default);
const loaded = (): typeof pg => {
  if (!driver) throw new Error('unreachable: the pg driver is loaded before any SQL is built');
  return driver;
};
const id = (name: string): string => loaded().escapeIdentifier(name);
const literal = (text: string): string => loaded().escapeLiteral(text);

const clientOptions = (connectionString: string): pg.ClientConfig => ({
  connectionString,
  connectionTimeoutMillis: PG_TIMEOUTS.connectMs,
  statement_timeout: PG_TIMEOUTS.statementMs,
  query_timeout: PG_TIMEOUTS.queryMs,
  idle_in_transaction_session_timeout: PG_TIMEOUTS.queryMs,
  application_name: 'sesame',
  // Grantees may create functions and operators in public; on the default search_path an exact-type match there
  // beats pg_catalog's, and Sesame would run the grantee's code with its own CREATEROLE. Only pg_catalog resolves.
  options: '-c search_path=pg_catalog',
});

function createPostgresProvider(config: PostgresConfig, env: Readonly<Record<string, string | undefined>>): Provider {
  let pool: pg.Pool | undefined;
  const connection = () => requireEnv(env, config.connection_env, 'the postgres provider');
  const poolOf = async (): Promise<pg.Pool> => {
    const { Pool } = await loadPg();
    if (!pool) {
      pool = new Pool({ ...clientOptions(connection()), max: 4, idleTimeoutMillis: 10_000 });
      // An idle client's error (the server restarted) must not crash Sesame; the next query reconnects.
      pool.on('error', () => undefined);
    }
    return pool;
  };

  const failure = (what: string, cause: unknown, prefix = 'PostgreSQL refused to'): ProviderError =>
    cause instanceof ProviderError ? cause : new ProviderError(`${prefix} ${what}: ${messageOf(cause)}`, !PERMANENT_CODES.has(codeOf(cause)), { cause });

  /** Runs `work` on a pooled client, in one transaction unless `transaction` is false; errors become sentences without SQL. */
  const withClient = async <T>(what: string, work: (client: pg.PoolClient) => Promise<T>, transaction = true): Promise<T> => {
    let client: pg.PoolClient;
    try {
      client = await (await poolOf()).connect();
    } catch (cause) {
      throw failure(what, cause, `could not connect to PostgreSQL (${config.connection_env}) to`);
    }
    try {
      if (!transaction) {
        const result = await work(client);
        client.release();
        return result;
      }
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (cause) {
      // Closing the connection rolls back an open transaction, and a ROLLBACK sent to a server that stopped
      // answering would wait out a second deadline.
      client.release(true);
      throw failure(what, cause);
    }
  };

  const roleExists = async (client: Queryable, role: string): Promise<boolean> =>
    ((await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;

  /** Refuses a reassign target that would hand a grantee's objects (and their SECURITY DEFINER code) real power. */
  const assertSafeReassignTarget = async (client: Queryable, target: string): Promise<void> => {
    const unsafe = await unsafeReassignTarget(client, target);
    if (unsafe !== null) {
      throw new ProviderError(`reassign_owned_to cannot be used: ${unsafe}; what a grantee creates would then run with its powers, so name a NOLOGIN role that holds no such attribute or membership`, false);
    }
    const { rows } = await client.query<{ ok: boolean }>("SELECT pg_has_role(current_user, $1, 'USAGE') AS ok", [target]);
    if (!rows[0]?.ok) throw new ProviderError(`reassign_owned_to cannot be used: Sesame's database role is not a member of ${target}, so it could not hand objects to it; run GRANT ${id(target)} TO the role in ${config.connection_env}`, false);
  };

  /** Step 1, committed on its own so nothing later can undo it: the login cannot log in and holds no role. */
  const cutAccess = (login: string) =>
    withClient(`cut off ${login}`, async (client) => {
      if (!(await roleExists(client, login))) return false; // already gone (dropped by hand or by an earlier revoke)
      await client.query(`ALTER ROLE ${id(login)} NOLOGIN PASSWORD NULL`);
      const held = await client.query<{ rolname: string }>('SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)', [login]);
      for (const { rolname } of held.rows) await client.query(`REVOKE ${id(rolname)} FROM ${id(login)}`);
      return true;
    });

  /** Step 2: ends the login's sessions (NOLOGIN alone leaves them open) and waits until they are gone. */
  const endSessions = (login: string) =>
    withClient(
      `end the sessions of ${login}`,
      async (client) => {
        // Membership lets a CREATEROLE (non-superuser) Sesame signal the login's backends and later drop what it owns.
        await client.query(`GRANT ${id(login)} TO CURRENT_USER`);
        const until = Date.now() + SESSION_EXIT_WAIT_MS;
        for (;;) {
          const { rows } = await client.query<{ n: number }>(
            'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
            [login],
          );
          if ((rows[0]?.n ?? 0) === 0) return;
          if (Date.now() > until) throw new ProviderError(`${login} still has ${rows[0]?.n} open session(s) after being told to end them`, true);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      },
      false,
    );

  /** Databases where the login owns something or was granted something, besides the one Sesame connects to. */
  const databasesTouchedBy = (login: string) =>
    withClient(
      `find the databases ${login} used`,
      async (client) => {
        const { rows } = await client.query<{ datname: string }>(
          `SELECT DISTINCT d.datname FROM pg_shdepend s JOIN pg_database d ON d.oid = s.dbid
           WHERE s.refclassid = 'pg_authid'::regclass AND s.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND d.datname <> current_database()
           ORDER BY 1`,
          [login],
        );
        return rows.map((r) => r.datname);
      },
      false,
    );

  /**
   * DROP OWNED (after REASSIGN OWNED when configured) in the database `client` is connected to, in one
   * transaction. On failure the caller closes the connection, which rolls it back.
   */
  const cleanDatabase = async (client: Queryable, login: string): Promise<void> => {
    await client.query('BEGIN');
    if (config.reassign_owned_to !== undefined) {
      // Checked again here: the target may have gained powers since the grant.
      await assertSafeReassignTarget(client, config.reassign_owned_to);
      await client.query(`REASSIGN OWNED BY ${id(login)} TO ${id(config.reassign_owned_to)}`);
    }
    // Never CASCADE: other people's objects that depend on the grantee's are left for a human, not dropped.
    await client.query(`DROP OWNED BY ${id(login)}`);
    await client.query('COMMIT');
  };

  const cleanOtherDatabase = async (login: string, database: string): Promise<void> => {
    const target = new URL(connection());
    target.pathname = `/${encodeURIComponent(database)}`;
    const client = new (await loadPg()).Client(clientOptions(target.toString()));
    client.on('error', () => undefined);
    try {
      await client.connect();
      await cleanDatabase(client, login);
    } catch (cause) {
      // Not awaited: a server that stopped answering would never confirm the goodbye.
      void client.end().catch(() => undefined);
      throw cause;
    }
    await client.end().catch(() => undefined);
  };

  /** Step 3: removes what the login left, then the login itself. A sentence naming what is left when it cannot. */
  const cleanUp = async (login: string): Promise<string | null> => {
    let step = `find the databases ${login} used`;
    try {
      for (const database of await databasesTouchedBy(login)) {
        step = `clean up what ${login} left in database ${database}`;
        await cleanOtherDatabase(login, database);
      }
      step = `drop ${login}`;
      await withClient(step, async (client) => {
        await cleanDatabase(client, login);
        await client.query(`DROP ROLE ${id(login)}`);
      }, false);
      return null;
    } catch (cause) {
      return `the database role ${login} can no longer log in and holds no role, but Sesame could not ${step}: ${messageOf(cause)}`;
    }
  };

  return {
    async grant(subject) {
      const dbRole = config.roles[subject.role];
      if (dbRole === undefined) throw new ProviderError(`role "${subject.role}" has no database role in provider.roles`, false);
      const login = loginRoleOf(subject);
      const password = randomBytes(24).toString('base64url');
      await withClient(`create ${login}`, async (client) => {
        if (await roleExists(client, login)) {
          throw new ProviderError(`a database role ${login} already exists and is not this grant's (another Sesame on this server, or one left by an earlier Sesame database?); Sesame left it alone: remove it if it is stale, and request again`, false, { nothingGranted: true });
        }
        if (!(await roleExists(client, dbRole))) throw new ProviderError(`the database role ${dbRole} (mapped from "${subject.role}") does not exist; create it or fix provider.roles`, false);
        if (config.reassign_owned_to !== undefined) await assertSafeReassignTarget(client, config.reassign_owned_to);
        // Only the SCRAM verifier travels: a DDL statement log must never hold a working password.
        await client.query(`CREATE ROLE ${id(login)} LOGIN PASSWORD ${literal(scramSha256Verifier(password))} VALID UNTIL ${literal(subject.expiresAt.toISOString())}`);
        await client.query(`GRANT ${id(dbRole)} TO ${id(login)}`);
      });
      return { message: connectionMessage(connection(), login, password, subject.expiresAt) };
    },

    async revoke(subject): Promise<void | RevokeResult> {
      const login = loginRoleOf(subject);
      if (!(await cutAccess(login))) return;
      await endSessions(login);
      const left = await cleanUp(login);
      return left === null ? undefined : { cleanupPending: left };
    },

    async check(subject) {
      const login = loginRoleOf(subject);
      // A login left for cleanup is absent as access: it cannot log in, holds no role and has no session.
      const present = await withClient(`look up ${login}`, async (client) => {
        const { rows } = await client.query<{ present: boolean }>(
          `SELECT r.rolcanlogin
               OR EXISTS (SELECT 1 FROM pg_auth_members m WHERE m.member = r.oid)
               OR EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.usename = r.rolname) AS present
           FROM pg_roles r WHERE r.rolname = $1`,
          [login],
        );
        return rows[0]?.present ?? false;
      });
      return present ? 'present' : 'absent';
    },

    async extend(subject) {
      const login = loginRoleOf(subject);
      await withClient(`extend ${login}`, async (client) => {
        await client.query(`ALTER ROLE ${id(login)} VALID UNTIL ${literal(subject.expiresAt.toISOString())}`);
      });
    },

    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}

const codeOf = (error: unknown): string => String((error as { code?: unknown } | null)?.code ?? '');
const messageOf = (error: unknown): string => errorMessage(error) || codeOf(error) || 'unknown error';

export const postgresProvider = defineProvider({
  schema,
  secretEnv: (config) => [{ key: 'connection_env', variable: config.connection_env }],
  create: (config, { env }) => createPostgresProvider(config, env),
  doctor: (config, { env }) => postgresFindings(config, env),
});
