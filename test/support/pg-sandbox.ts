// A corner of the shared PostgreSQL for one test file: a least-privilege Sesame role (CREATEROLE, no superuser),
// a mapped role, a second database, all with a random suffix and dropped afterwards.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/test';

export const urlFor = (user: string, database = 'test', password?: string): string =>
  `postgres://${user}${password ? `:${encodeURIComponent(password)}` : ''}@127.0.0.1:5432/${database}`;

export class PgSandbox {
  readonly suffix = randomBytes(4).toString('hex');
  /** The role Sesame connects as, set up as the docs tell operators to: CREATEROLE and nothing more. */
  readonly sesame = `sesame_conn_${this.suffix}`;
  /** The database role a grant maps to: can read the probe table and create in `public` of both databases. */
  readonly reader = `sesame_reader_${this.suffix}`;
  readonly probe = `sesame_probe_${this.suffix}`;
  readonly otherDb = `sesame_db2_${this.suffix}`;
  readonly admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  private readonly extraRoles: string[] = [];

  get sesameUrl(): string {
    return urlFor(this.sesame);
  }

  async start(): Promise<this> {
    await this.admin.connect();
    const { admin, sesame, reader, probe, otherDb } = this;
    await admin.query(`CREATE ROLE ${sesame} LOGIN CREATEROLE`);
    await admin.query(`CREATE ROLE ${reader} NOLOGIN`);
    await admin.query(`CREATE TABLE ${probe} (n int)`);
    await admin.query(`GRANT SELECT ON ${probe} TO ${reader}`);
    await admin.query(`GRANT CREATE ON SCHEMA public TO ${reader}`);
    await admin.query(`CREATE DATABASE ${otherDb}`);
    await this.inOtherDb((client) => client.query(`GRANT CREATE ON SCHEMA public TO ${reader}`));
    return this;
  }

  /** A role this sandbox drops at the end. */
  async role(name: string, attributes = 'NOLOGIN'): Promise<string> {
    const role = `${name}_${this.suffix}`;
    await this.admin.query(`CREATE ROLE ${role} ${attributes}`);
    this.extraRoles.push(role);
    return role;
  }

  async inOtherDb<T>(work: (client: pg.Client) => Promise<T>, user = 'postgres'): Promise<T> {
    const client = new pg.Client({ connectionString: urlFor(user, this.otherDb) });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }

  async roleExists(role: string): Promise<boolean> {
    return ((await this.admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role])).rowCount ?? 0) > 0;
  }

  /** Drops every sandbox object, and any `sesame_g…` login a failed test left, in both databases. */
  async stop(): Promise<void> {
    const { admin } = this;
    await admin.query(`DROP DATABASE IF EXISTS ${this.otherDb} WITH (FORCE)`);
    await admin.query(`DROP TABLE IF EXISTS ${this.probe}`);
    const roles = [this.reader, this.sesame, ...this.extraRoles];
    for (const role of roles) {
      if (await this.roleExists(role)) await admin.query(`DROP OWNED BY ${role}`);
    }
    for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  }
}
